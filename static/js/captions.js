// The room's caption list: partial lines that are replaced in place, finals that never change,
// the oldest lines dropped past a limit, and the list kept at the newest line until the person
// scrolls up to read back (then nothing moves, and "Jump to live" brings them back).

import { gettext, interpolate } from "./i18n.js";

/**
 * A final as the list is about to show it: what the room's features hear (room.js).
 * @typedef {object} ShownFinal
 * @property {HTMLElement} line the final's new line, not in the page yet
 * @property {object} event its caption.final event (docs/PROTOCOL.md)
 * @property {boolean} live heard now, not history
 * @property {boolean} mine said by this participant
 */

// A partial that nothing updated for this long will never get its final (its speaker's
// server process died, and the speech was sent again under another id): it goes.
const STALE_PARTIAL_MS = 15000;

export class CaptionList {
  // beforeFinal(ShownFinal) hears of each final before it is shown: the room's features mark
  // the line first (mentions.js), so the live region reads it marked.
  constructor(container, { lowConfidence, maxLines = 300, beforeFinal = () => {} }) {
    this.container = container;
    this.lowConfidence = lowConfidence;
    this.maxLines = maxLines;
    this.beforeFinal = beforeFinal;
    // Following the newest caption until the person scrolls up; then nothing moves the view
    // and the "Jump to live" button (named by data-jump-button) brings them back.
    this.following = true;
    this.missed = 0;
    this.jump = document.getElementById(container.dataset.jumpButton || "");
    container.addEventListener("scroll", () => this.onScroll());
    if (this.jump) this.jump.addEventListener("click", () => this.jumpToLive());
    // a change of size, spacing or lines changes the height: the newest line stays in view
    new ResizeObserver(() => this.keepNewestInView()).observe(container);
    setInterval(() => this.dropStalePartials(), 5000);
  }

  onScroll() {
    const atBottom = this.isScrolledToBottom();
    if (atBottom === this.following) return;
    this.following = atBottom;
    if (atBottom) this.missed = 0;
    this.showJump();
  }

  jumpToLive() {
    this.following = true;
    this.missed = 0;
    this.scrollToEnd();
    this.showJump();
    // the button goes away: the keyboard lands on the captions it led to, not on the page
    this.container.focus({ preventScroll: true });
  }

  showJump() {
    if (!this.jump) return;
    this.jump.hidden = this.following;
    this.jump.textContent = this.missed
      ? interpolate(gettext("Jump to live (%(count)s new)"), { count: this.missed })
      : gettext("Jump to live");
  }

  // After a change of size, spacing or lines (caption-settings.js): the newest line stays in
  // view, unless the person is reading back.
  keepNewestInView() {
    if (this.following) this.scrollToEnd();
  }

  scrollToEnd() {
    this.container.scrollTop = this.container.scrollHeight;
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
    const line = this.lineFor(event, isFinal);
    line.id = id;
    if (isFinal) this.beforeFinal({ line, event, live, mine });
    if (existing) {
      // A new node (not new text in the old one), so the live region announces the final.
      existing.replaceWith(line);
    } else {
      this.container.append(line);
      this.dropOldest();
      if (isFinal && !this.following) {
        this.missed += 1;
        this.showJump();
      }
    }
    if (this.following) this.scrollToEnd();
  }

  dropOldest() {
    while (this.container.childElementCount > this.maxLines) {
      const oldest = this.container.firstElementChild;
      const next = oldest.nextElementSibling;
      // what is read now stays where it is on screen when the lines above it go
      if (!this.following && next) this.container.scrollTop -= next.offsetTop - oldest.offsetTop;
      oldest.remove();
    }
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
      line.title = interpolate(gettext("Low confidence (%(percent)s %)"), {
        percent: Math.round(event.confidence * 100),
      });
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
