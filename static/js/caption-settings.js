// How captions look (colours, font, spacing, placement, lines, size): applied to the page at
// once through data-caption-* attributes and CSS properties, and, in the room, saved on the
// person's account (POST JSON to the panel's data-url), so it follows them to other devices.

import { gettext, interpolate } from "./i18n.js";

const root = document.documentElement;
// the text size was kept in this browser before it was kept on the account
const OLD_SIZE_KEY = "caption-size";
const SAVE_AFTER_MS = 400; // a few A+ presses in a row are one save

/** Shows captions as `values` say, on this page only (a caption view's size and lines). */
export function applyCaptionSettings(values) {
  for (const [name, value] of Object.entries(values)) {
    if (name === "size") root.style.setProperty("--caption-size", `${value}rem`);
    else if (name === "saved") continue;
    else root.dataset[`caption${name[0].toUpperCase()}${name.slice(1)}`] = String(value);
    if (name === "lines") root.style.setProperty("--caption-lines", String(value));
  }
}

/**
 * The room's "Caption settings" panel (caption_views/_settings_panel.html) and its A− / A+
 * buttons: the person's saved settings applied, and each change applied and saved.
 */
export class CaptionSettings {
  // onApply(): the page took a change (the caption list keeps its newest line in view).
  constructor({ onApply }) {
    this.onApply = onApply;
    const data = document.getElementById("caption-settings-data");
    this.form = document.getElementById("caption-settings-form");
    this.status = document.getElementById("caption-settings-status");
    this.values = data ? JSON.parse(data.textContent) : {};
    this.saved = { ...this.values }; // as the account has them: what a refused change goes back to
    this.pending = {};
    this.saveTimer = null;
    if (data) {
      this.apply(this.values);
      const oldSize = Number(localStorage.getItem(OLD_SIZE_KEY));
      localStorage.removeItem(OLD_SIZE_KEY);
      // moved to the account once, unless the account already has a choice of its own
      if (!this.values.saved && oldSize) this.update({ size: oldSize });
    }
    if (this.form) {
      this.form.addEventListener("submit", (event) => event.preventDefault());
      this.form.addEventListener("change", (event) => {
        const { name, value } = event.target;
        this.update({ [name]: name === "lines" ? Number(value) : value });
      });
    }
  }

  apply(values) {
    applyCaptionSettings(values);
    this.onApply();
  }

  async save() {
    const changes = this.pending;
    this.pending = {};
    let reply;
    try {
      const response = await fetch(this.form.dataset.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": this.form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify(changes),
      });
      const failed = interpolate(gettext("Not saved (error %(status)s)."), { status: response.status });
      reply = await response.json().catch(() => ({ error: failed }));
      if (!response.ok) throw new Error(reply.error || failed);
    } catch (error) {
      // the account keeps what it had: the page shows that again, and says why
      this.status.textContent = error instanceof TypeError ? gettext("Not saved: the server cannot be reached.") : error.message;
      Object.assign(this.values, this.saved);
      this.showInForm(this.values);
      this.apply(this.values);
      return;
    }
    this.saved = reply;
    this.status.textContent = gettext("Saved.");
  }

  update(changes) {
    Object.assign(this.values, changes);
    this.apply(changes);
    if (!this.form) return;
    Object.assign(this.pending, changes);
    this.status.textContent = "";
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  showInForm(current) {
    for (const select of this.form.querySelectorAll("select")) select.value = String(current[select.name]);
  }

  // The A− / A+ buttons: the caption text size, saved on the account like the rest.
  sizeButtons(smaller, larger) {
    const step = (rem) => {
      const size = Math.min(3.5, Math.max(1, (this.values.size || 1.5) + rem));
      this.update({ size });
    };
    smaller.addEventListener("click", () => step(-0.25));
    larger.addEventListener("click", () => step(0.25));
  }
}

/**
 * The room's feature (features.js): the panel and the page's A− / A+ buttons.
 * @param {{keepNewestInView: () => void}} room
 */
export function start({ keepNewestInView }) {
  const settings = new CaptionSettings({ onApply: keepNewestInView });
  settings.sizeButtons(document.getElementById("text-smaller"), document.getElementById("text-larger"));
  return null;
}
