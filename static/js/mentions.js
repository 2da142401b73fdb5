// Mentions on the room page: a final caption that says one of this person's watch words (their
// name unless they chose others on the profile page) is highlighted and marked for screen
// readers; if they allowed it, the browser notifies them while the room's tab is hidden.
// room.js hands it each final before the final is shown.

import { gettext, interpolate } from "./i18n.js";

const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;
// Scripts written without spaces between words: there, where words end comes from the browser's
// word segmenter (a dictionary, in Chromium's ICU).
const SPACELESS =
  /[\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]/u;
const segmenter =
  "Segmenter" in Intl ? new Intl.Segmenter(undefined, { granularity: "word" }) : null;

function watchPatterns(words) {
  const escape = (word) =>
    word.normalize("NFC").trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
  // the longest first, so "Dave Smith" is marked whole rather than "Dave"
  const sources = [...new Set(words.map(escape).filter(Boolean))];
  sources.sort((a, b) => b.length - a.length);
  return sources.length ? sources.map((source) => new RegExp(source, "giu")) : null;
}

// Every offset where the segmenter says a word starts or ends.
function wordBoundaries(text) {
  const boundaries = new Set([0, text.length]);
  if (!segmenter) return boundaries;
  for (const { index, segment } of segmenter.segment(text)) {
    boundaries.add(index);
    boundaries.add(index + segment.length);
  }
  return boundaries;
}

// Whether a character beside a match makes it part of a longer word: a letter, digit or mark
// does, unless one of the two is of a script without spaces and the other is not ("Dave" in
// "ขอบคุณDaveครับ"; ICU's segmenter takes that for one word).
function touches(inside, outside) {
  if (!outside || !WORD_CHAR.test(outside)) return false;
  return SPACELESS.test(inside) === SPACELESS.test(outside);
}

// A whole word, in any script: nothing of a word touches either end, or the segmenter ends
// words at both ("สมชาย" in "ขอบคุณสมชายครับ").
function isWhole(text, start, end, boundaries) {
  const first = String.fromCodePoint(text.codePointAt(start));
  const last = [...text.slice(start, end)].pop();
  const before = [...text.slice(0, start)].pop();
  const after = end < text.length ? String.fromCodePoint(text.codePointAt(end)) : undefined;
  const alone = !touches(first, before) && !touches(last, after);
  return alone || (boundaries.has(start) && boundaries.has(end));
}

// [start, end] of each watch word said as a whole word, in text order, none overlapping.
function findWords(text, patterns) {
  const boundaries = wordBoundaries(text);
  const found = [];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const [start, end] = [match.index, match.index + match[0].length];
      const taken = found.some(([s, e]) => start < e && s < end);
      if (!taken && isWhole(text, start, end, boundaries)) found.push([start, end]);
    }
  }
  return found.sort((a, b) => a[0] - b[0]);
}

// The caption's text with each watch word in a <mark>; false when it says none.
function markWords(textEl, patterns) {
  const text = textEl.textContent.normalize("NFC");
  const nodes = [];
  let last = 0;
  for (const [start, end] of findWords(text, patterns)) {
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end);
    nodes.push(text.slice(last, start), mark);
    last = end;
  }
  if (!nodes.length) return false;
  textEl.replaceChildren(...nodes, text.slice(last));
  return true;
}

function show(line) {
  if (!line.isConnected) return; // scrolled out of the captions kept on the page
  line.tabIndex = -1;
  line.scrollIntoView({ block: "center" });
  line.focus();
}

function notify(settings, event, line) {
  // Only while the person is away from the tab: on screen, the highlight says it.
  if (!settings.notify || !("Notification" in window)) return;
  if (Notification.permission !== "granted" || document.visibilityState !== "hidden") return;
  // the tag: a final sent again (after a reconnection) replaces its notification
  const note = new Notification(event.speaker.name, { body: event.text, tag: line.id });
  note.addEventListener("click", () => {
    window.focus();
    show(line);
    note.close();
  });
}

/** The room's mentions: null when the person watches for no word. */
export function startMentions() {
  const data = document.getElementById("mention-settings");
  if (!data) return null;
  const settings = JSON.parse(data.textContent);
  const patterns = watchPatterns(settings.words);
  if (!patterns) return null;
  const jump = document.getElementById("mention-jump");
  let latest = null;
  let count = 0;
  if (jump) jump.addEventListener("click", () => latest && show(latest));

  /** @param {ShownFinal} shown a final about to be shown (captions.js) */
  function beforeFinal({ line, event, mine, live }) {
    if (mine) return; // one's own speech is not a mention
    const text = line.querySelector(".text");
    if (!text || !markWords(text, patterns)) return;
    line.classList.add("mention");
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = `${gettext("Mentions you:")} `;
    line.prepend(label);
    latest = line;
    count += 1;
    if (jump) {
      jump.textContent = interpolate(gettext("Latest mention (%(count)s)"), { count });
      jump.hidden = false;
    }
    // captions from before this page joined are highlighted, not notified
    if (live) notify(settings, event, line);
  }

  return { beforeFinal };
}
