// How captions look (colours, font, spacing, placement, lines, size): applied to the page at
// once through data-caption-* attributes and CSS properties, and, in the room, saved on the
// person's account (POST JSON to the panel's data-url), so it follows them to other devices.
"use strict";

(function () {
  const root = document.documentElement;
  // the text size was kept in this browser before it was kept on the account
  const OLD_SIZE_KEY = "caption-size";
  const SAVE_AFTER_MS = 400; // a few A+ presses in a row are one save

  function apply(values) {
    for (const [name, value] of Object.entries(values)) {
      if (name === "size") root.style.setProperty("--caption-size", `${value}rem`);
      else if (name === "saved") continue;
      else root.dataset[`caption${name[0].toUpperCase()}${name.slice(1)}`] = String(value);
      if (name === "lines") root.style.setProperty("--caption-lines", String(value));
    }
    document.dispatchEvent(new CustomEvent("caption:settings", { detail: values }));
  }

  const data = document.getElementById("caption-settings-data");
  const form = document.getElementById("caption-settings-form");
  const status = document.getElementById("caption-settings-status");
  const values = data ? JSON.parse(data.textContent) : {};
  let saved = { ...values }; // as the account has them: what a refused change goes back to
  let pending = {};
  let saveTimer = null;

  async function save() {
    const changes = pending;
    pending = {};
    let reply;
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify(changes),
      });
      reply = await response.json().catch(() => ({ error: `Not saved (error ${response.status}).` }));
      if (!response.ok) throw new Error(reply.error || `Not saved (error ${response.status}).`);
    } catch (error) {
      // the account keeps what it had: the page shows that again, and says why
      status.textContent = error instanceof TypeError ? "Not saved: the server cannot be reached." : error.message;
      Object.assign(values, saved);
      showInForm(values);
      apply(values);
      return;
    }
    saved = reply;
    status.textContent = "Saved.";
  }

  function update(changes) {
    Object.assign(values, changes);
    apply(changes);
    if (!form) return;
    Object.assign(pending, changes);
    status.textContent = "";
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, SAVE_AFTER_MS);
  }

  function showInForm(current) {
    for (const select of form.querySelectorAll("select")) select.value = String(current[select.name]);
  }

  if (data) {
    apply(values);
    const oldSize = Number(localStorage.getItem(OLD_SIZE_KEY));
    localStorage.removeItem(OLD_SIZE_KEY);
    // moved to the account once, unless the account already has a choice of its own
    if (!values.saved && oldSize) update({ size: oldSize });
  }
  if (form) {
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", (event) => {
      const { name, value } = event.target;
      update({ [name]: name === "lines" ? Number(value) : value });
    });
  }

  window.CaptionSettings = { values, apply, update };
})();
