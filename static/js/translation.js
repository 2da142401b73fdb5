// Live translation on the room page: the listener picks a language (kept in this browser) and
// each final's translation shows under it, or instead of it. The server translates each final
// once per language for everyone who chose it (docs/PROTOCOL.md, translation.choose and
// caption.translated); this page only asks, over room.js's socket ("room:send"), and shows.
"use strict";

(function () {
  const controls = document.getElementById("translation");
  const picker = document.getElementById("translation-language");
  const captions = document.getElementById("captions");
  if (!controls || !picker || !captions || picker.disabled) return;
  const LANGUAGE_KEY = "caption-translation";
  const DISPLAY_KEY = "caption-translation-display";
  // A final waits this long, silent for screen readers, for its translation when it shows
  // "instead": after that it is read in the original.
  const WAIT_FOR_TRANSLATION_MS = 15000;
  const offered = new Set([...picker.options].map((option) => option.value).filter(Boolean));
  const early = new Map(); // item id → translation that came before its caption line
  let language = offered.has(localStorage.getItem(LANGUAGE_KEY)) ? localStorage.getItem(LANGUAGE_KEY) : "";
  picker.value = language;
  controls.open = Boolean(language); // a choice kept from an earlier visit stays in sight

  function instead() {
    return document.getElementById("translation-instead").checked;
  }

  function choose() {
    early.clear();
    for (const span of captions.querySelectorAll(".caption .translation")) span.remove();
    for (const line of captions.querySelectorAll(".caption.has-translation")) line.classList.remove("has-translation");
    document.dispatchEvent(new CustomEvent("room:send", { detail: { message: { type: "translation.choose", language: language || null } } }));
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

  document.addEventListener("caption:final", ({ detail }) => {
    if (!language) return;
    const pending = early.get(detail.event.item_id);
    if (pending) {
      early.delete(detail.event.item_id);
      addTranslation(detail.line, pending);
    } else if (instead() && detail.live) {
      // read once, in the translation, when it comes
      detail.line.setAttribute("aria-hidden", "true");
      detail.line.dataset.waiting = "true";
      const id = detail.line.id;
      setTimeout(() => {
        const line = document.getElementById(id);
        if (line && line.dataset.waiting === "true") announce(line);
      }, WAIT_FOR_TRANSLATION_MS);
    }
  });

  document.addEventListener("room:event", ({ detail: event }) => {
    if (event.type === "session.ready" && language) choose(); // each connection chooses again
    if (event.type === "caption.translated") translated(event);
    if (event.type === "error" && event.code === "translation_failed") {
      for (const line of captions.querySelectorAll('.caption[data-waiting="true"]')) announce(line);
    }
  });

  picker.addEventListener("change", () => {
    language = picker.value;
    localStorage.setItem(LANGUAGE_KEY, language);
    choose();
  });

  function showDisplay() {
    captions.classList.toggle("translation-instead", instead());
  }
  const display = localStorage.getItem(DISPLAY_KEY) === "instead" ? "instead" : "with";
  document.getElementById(`translation-${display}`).checked = true;
  showDisplay();
  for (const radio of controls.querySelectorAll('input[name="translation-display"]')) {
    radio.addEventListener("change", () => {
      localStorage.setItem(DISPLAY_KEY, instead() ? "instead" : "with");
      showDisplay();
    });
  }
})();
