// The room's caption list: partial lines that are replaced in place, finals that never change,
// the oldest lines dropped past a limit, and the list kept at the bottom while it is there.
"use strict";

(function () {
  // A partial that nothing updated for this long will never get its final (its speaker's
  // server process died, and the speech was sent again under another id): it goes.
  const STALE_PARTIAL_MS = 15000;

  class CaptionList {
    constructor(container, { lowConfidence, maxLines = 300 }) {
      this.container = container;
      this.lowConfidence = lowConfidence;
      this.maxLines = maxLines;
      setInterval(() => this.dropStalePartials(), 5000);
    }

    dropStalePartials() {
      for (const line of this.container.querySelectorAll(".caption.partial")) {
        if (Date.now() - Number(line.dataset.shownAt) > STALE_PARTIAL_MS) line.remove();
      }
    }

    // Shows a caption event (docs/PROTOCOL.md); `live` is a final heard now, not history,
    // and `mine` one this participant said.
    show(event, isFinal, { live = false, mine = false } = {}) {
      const id = `caption-${event.item_id}`;
      const existing = document.getElementById(id);
      if (existing && existing.dataset.final === "true") return; // a final never changes
      if (!event.text) {
        if (existing) existing.remove(); // an utterance that came to nothing
        return;
      }
      const stickToBottom = this.isScrolledToBottom();
      const line = this.lineFor(event, isFinal);
      line.id = id;
      // mentions.js marks the line before it is shown, so the live region reads it marked
      const detail = { line, event, live, mine };
      if (isFinal) document.dispatchEvent(new CustomEvent("caption:final", { detail }));
      if (existing) {
        // A new node (not new text in the old one), so the live region announces the final.
        existing.replaceWith(line);
      } else {
        this.container.append(line);
        while (this.container.childElementCount > this.maxLines) {
          this.container.firstElementChild.remove();
        }
      }
      if (stickToBottom) this.container.scrollTop = this.container.scrollHeight;
    }

    lineFor(event, isFinal) {
      const line = document.createElement("p");
      line.className = isFinal ? "caption final" : "caption partial";
      line.dataset.final = String(isFinal);
      const speaker = document.createElement("span");
      speaker.className = "speaker";
      speaker.textContent = `${event.speaker.name}: `;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = event.text;
      line.append(speaker, text);
      if (isFinal && event.confidence != null && event.confidence < this.lowConfidence) {
        line.classList.add("low-confidence");
        line.title = `Low confidence (${Math.round(event.confidence * 100)} %)`;
      }
      if (!isFinal) {
        // Screen readers announce finals only: a partial would be read again and again.
        line.setAttribute("aria-hidden", "true");
        line.dataset.shownAt = String(Date.now());
      }
      return line;
    }

    isScrolledToBottom() {
      const c = this.container;
      return c.scrollHeight - c.scrollTop - c.clientHeight < 40;
    }
  }

  // The A− / A+ buttons: the caption text size, kept in this browser.
  function captionSizeButtons(smaller, larger) {
    const setSize = (rem) => {
      const size = Math.min(3.5, Math.max(1, rem));
      document.documentElement.style.setProperty("--caption-size", `${size}rem`);
      localStorage.setItem("caption-size", String(size));
      return size;
    };
    let size = setSize(Number(localStorage.getItem("caption-size")) || 1.5);
    smaller.addEventListener("click", () => (size = setSize(size - 0.25)));
    larger.addEventListener("click", () => (size = setSize(size + 0.25)));
  }

  window.CaptionList = CaptionList;
  window.captionSizeButtons = captionSizeButtons;
})();
