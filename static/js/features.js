// The features of a page: the room's own (mentions, bookmarks) and those the apps above the core
// add to it (meetings/extensions.py). Each app's template part names its module in
// `data-feature-module`; the page's entry imports those and starts each with what the page offers
// it, so no core module names a feature's.

/**
 * Starts one feature: what it returns (its hooks), or null. Its error is reported (as an
 * uncaught one would be) and the page goes on without it.
 * @param {() => object | null} start
 */
export function startFeature(start) {
  try {
    return start();
  } catch (error) {
    reportError(error);
    return null;
  }
}

/**
 * Imports and starts the apps' features of this page, in the order of their parts.
 * @param {object} page what the page offers its features (the room: `send`, `keepNewestInView`)
 * @returns {Promise<object[]>} what the started features return (their hooks), nulls left out
 */
export async function startFeatures(page) {
  const urls = new Set(
    [...document.querySelectorAll("[data-feature-module]")].map((el) => el.dataset.featureModule),
  );
  const started = [];
  for (const url of urls) {
    let module;
    try {
      module = await import(url);
    } catch (error) {
      reportError(error);
      continue;
    }
    const feature = startFeature(() => module.start(page));
    if (feature) started.push(feature);
  }
  return started;
}
