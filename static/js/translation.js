// Live translation on the room page: the listener picks a language (kept in this browser) and
// each final's translation shows under it, or instead of it. The server translates each final
// once per language for everyone who chose it (docs/PROTOCOL.md, translation.choose and
// caption.translated); this page only asks, over room.js's socket, and shows.

const LANGUAGE_KEY = "caption-translation";
const DISPLAY_KEY = "caption-translation-display";
// A final waits this long, silent for screen readers, for its translation when it shows
// "instead": after that it is read in the original.
const WAIT_FOR_TRANSLATION_MS = 15000;

function instead() {
  return document.getElementById("translation-instead").checked;
}

// The line again as a new node: the live region reads new nodes, not changed ones.
function announce(line) {
  const fresh = line.cloneNode(true);
  fresh.removeAttribute("aria-hidden");
  delete fresh.dataset.waiting;
  line.replaceWith(fresh);
  return fresh;
}

function addTranslation(line, event) {
  line.querySelector(".translation")?.remove();
  const text = document.createElement("span");
  text.className = "translation";
  text.lang = event.language;
  text.textContent = event.text;
  line.append(text);
  line.classList.add("has-translation");
}

// "with the original" or "instead of it", kept in this browser.
function keepDisplayChoice(controls, captions) {
  const showDisplay = () => captions.classList.toggle("translation-instead", instead());
  const display = localStorage.getItem(DISPLAY_KEY) === "instead" ? "instead" : "with";
  document.getElementById(`translation-${display}`).checked = true;
  showDisplay();
  for (const radio of controls.querySelectorAll('input[name="translation-display"]')) {
    radio.addEventListener("change", () => {
      localStorage.setItem(DISPLAY_KEY, instead() ? "instead" : "with");
      showDisplay();
    });
  }
}

/**
 * The room's translation: null where the server offers none.
 * @param {(message: object) => boolean} send the room's: false when not connected
 */
export function startTranslation(send) {
  const controls = document.getElementById("translation");
  const picker = document.getElementById("translation-language");
  const captions = document.getElementById("captions");
  if (!controls || !picker || !captions || picker.disabled) return null;
  const offered = new Set([...picker.options].map((option) => option.value).filter(Boolean));
  const early = new Map(); // item id → translation that came before its caption line
  let language = offered.has(localStorage.getItem(LANGUAGE_KEY)) ? localStorage.getItem(LANGUAGE_KEY) : "";
  picker.value = language;
  controls.open = Boolean(language); // a choice kept from an earlier visit stays in sight

  function choose() {
    early.clear();
    for (const span of captions.querySelectorAll(".caption .translation")) span.remove();
    for (const line of captions.querySelectorAll(".caption.has-translation")) line.classList.remove("has-translation");
    send({ type: "translation.choose", language: language || null });
  }

  function translated(event) {
    if (event.language !== language) return; // of a language left since
    const line = document.getElementById(`caption-${event.item_id}`);
    if (!line || line.dataset.final !== "true") {
      early.set(event.item_id, event);
      return;
    }
    const waiting = line.dataset.waiting === "true";
    addTranslation(line, event);
    if (waiting) announce(line);
  }

  /** @param {ShownFinal} shown a final about to be shown (captions.js) */
  function beforeFinal({ line, event, live }) {
    if (!language) return;
    const pending = early.get(event.item_id);
    if (pending) {
      early.delete(event.item_id);
      addTranslation(line, pending);
    } else if (instead() && live) {
      // read once, in the translation, when it comes
      line.setAttribute("aria-hidden", "true");
      line.dataset.waiting = "true";
      const id = line.id;
      setTimeout(() => {
        const shown = document.getElementById(id);
        if (shown && shown.dataset.waiting === "true") announce(shown);
      }, WAIT_FOR_TRANSLATION_MS);
    }
  }

  function handle(event) {
    if (event.type === "session.ready" && language) choose(); // each connection chooses again
    if (event.type === "caption.translated") translated(event);
    if (event.type === "error" && event.code === "translation_failed") {
      for (const line of captions.querySelectorAll('.caption[data-waiting="true"]')) announce(line);
    }
  }

  picker.addEventListener("change", () => {
    language = picker.value;
    localStorage.setItem(LANGUAGE_KEY, language);
    choose();
  });
  keepDisplayChoice(controls, captions);
  return { handle, beforeFinal };
}

/** The room's feature (features.js). @param {{send: (message: object) => boolean}} room */
export function start({ send }) {
  return startTranslation(send);
}
