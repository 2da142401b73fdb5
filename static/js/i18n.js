// The interface's strings in the page's language: Django's JavaScript catalogue (djangojs),
// rendered into the page as JSON by {% js_catalog %} (meetings/templatetags/js_catalog.py), so
// that no module reads a global. `manage.py makemessages -d djangojs` finds the calls below.

let served = null;

function catalogue() {
  const element = document.getElementById("js-catalog");
  served ??= element ? JSON.parse(element.textContent) : { catalog: {}, plural: null };
  return served;
}

/**
 * Which of a translation's plural forms `count` takes. The plural expression Django sends
 * cannot be evaluated under the site's Content-Security-Policy (no eval), so this knows the
 * two shapes its languages have: one form (Thai), or one and other (English and most others).
 * A language with more forms (Polish, Russian, Arabic…) needs its rule here first.
 */
function pluralIndex(forms, count) {
  if (forms.length === 1) return 0;
  const language = document.documentElement.lang || "en";
  return new Intl.PluralRules(language).select(count) === "one" ? 0 : 1;
}

/** The page language's translation of `message`, or the message itself. */
export function gettext(message) {
  const translated = catalogue().catalog[message];
  if (translated === undefined) return message;
  return Array.isArray(translated) ? translated[0] : translated;
}

/** `singular` or `plural` for `count`, translated. */
export function ngettext(singular, plural, count) {
  const forms = catalogue().catalog[singular];
  if (!Array.isArray(forms)) return count === 1 ? singular : plural;
  return forms[pluralIndex(forms, count)];
}

/** `format` with each %(name)s replaced by values[name], as Django's interpolate(…, true). */
export function interpolate(format, values) {
  return format.replace(/%\((\w+)\)s/g, (whole, name) =>
    name in values ? String(values[name]) : whole,
  );
}
