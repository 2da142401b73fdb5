// Mentions on the room page: a final caption that says one of this person's watch words (their
// name unless they chose others on the profile page) is highlighted and marked for screen
// readers; if they allowed it, the browser notifies them while the room's tab is hidden.
// room.js hands it each final before the final is shown.

function watchPattern(words) {
  const escape = (word) =>
    word.normalize("NFC").trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
  // the longest first, so "Dave Smith" is marked whole rather than "Dave"
  const alternatives = words.map(escape).filter(Boolean).sort((a, b) => b.length - a.length);
  if (!alternatives.length) return null;
  // Whole words in any script: no letter, digit or combining mark may touch either end.
  const edge = "[\\p{L}\\p{N}\\p{M}_]";
  return new RegExp(`(?<!${edge})(?:${alternatives.join("|")})(?!${edge})`, "giu");
}

// The caption's text with each watch word in a <mark>; false when it says none.
function markWords(textEl, pattern) {
  const text = textEl.textContent.normalize("NFC");
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const mark = document.createElement("mark");
    mark.textContent = match[0];
    nodes.push(text.slice(last, match.index), mark);
    last = match.index + match[0].length;
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
  const pattern = watchPattern(settings.words);
  if (!pattern) return null;
  const jump = document.getElementById("mention-jump");
  let latest = null;
  let count = 0;
  if (jump) jump.addEventListener("click", () => latest && show(latest));

  /** @param {ShownFinal} shown a final about to be shown (captions.js) */
  function beforeFinal({ line, event, mine, live }) {
    if (mine) return; // one's own speech is not a mention
    const text = line.querySelector(".text");
    if (!text || !markWords(text, pattern)) return;
    line.classList.add("mention");
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = "Mentions you: ";
    line.prepend(label);
    latest = line;
    count += 1;
    if (jump) {
      jump.textContent = `Latest mention (${count})`;
      jump.hidden = false;
    }
    // captions from before this page joined are highlighted, not notified
    if (live) notify(settings, event, line);
  }

  return { beforeFinal };
}
