// The features the apps above the core add to a page (meetings/extensions.py). Each one's
// template part names its module in `data-feature-module`; the page's entry imports those and
// starts each with what the page offers it, so no core module names a feature's.

/**
 * Imports and starts the features of this page, in the order of their parts; a feature that
 * fails is reported (as an uncaught error would be) and the page goes on without it.
 * @param {object} page what the page offers its features (the room: `send`, `keepNewestInView`)
 * @returns {Promise<object[]>} what the started features return (their hooks), nulls left out
 */
export async function startFeatures(page) {
  const urls = new Set(
    [...document.querySelectorAll("[data-feature-module]")].map((el) => el.dataset.featureModule),
  );
  const started = [];
  for (const url of urls) {
    try {
      const feature = (await import(url)).start(page);
      if (feature) started.push(feature);
    } catch (error) {
      reportError(error);
    }
  }
  return started;
}
