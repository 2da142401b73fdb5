// Bookmarks on the room page: anyone in the room marks the current moment, with an optional
// note, and everyone's list shows it. The room's socket is room.js's: it hands this every
// server event and sends what this gives it (docs/PROTOCOL.md, bookmark.add and
// bookmark.added). No keyboard shortcut: a letter key would fire while people type a note, and
// the form's button is one Tab away.

import { gettext, interpolate } from "./i18n.js";

// The meeting's clock as the transcript shows it: 2:03, or 1:02:03.
function clock(ms) {
  const total = Math.floor(Math.max(ms, 0) / 1000);
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${minutes}:${pad(seconds)}`;
}

// One list item; every text through textContent, since notes and names are other people's.
function item(bookmark, transcriptUrl) {
  const li = document.createElement("li");
  li.className = "bookmark";
  li.dataset.id = bookmark.id;
  li.dataset.atMs = bookmark.at_ms;
  const time = document.createElement("a");
  time.className = "time";
  time.href = `${transcriptUrl}#bookmark-${bookmark.id}`;
  time.textContent = clock(bookmark.at_ms);
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = bookmark.author.name || gettext("Someone");
  li.append(time, author);
  if (bookmark.note) {
    const text = document.createElement("span");
    text.className = "note";
    text.textContent = bookmark.note;
    li.append(": ", text);
  }
  return li;
}

/**
 * The room's bookmarks: null on a page without them.
 * @param {(message: object) => boolean} send the room's: false when not connected
 */
export function startBookmarks(send) {
  const section = document.getElementById("bookmarks");
  if (!section) return null;
  const form = document.getElementById("bookmark-form");
  const note = document.getElementById("bookmark-note");
  const status = document.getElementById("bookmark-status");
  const list = document.getElementById("bookmark-list");
  let me = null; // this participant's id, from session.ready
  let waiting = false; // a bookmark of ours was sent and has not come back yet

  // In time order; a bookmark already listed (a broadcast sent again) is not listed twice.
  function add(bookmark) {
    if (list.querySelector(`[data-id="${Number(bookmark.id)}"]`)) return;
    const later = [...list.children].find((li) => Number(li.dataset.atMs) > bookmark.at_ms);
    list.insertBefore(item(bookmark, section.dataset.transcriptUrl), later || null);
  }

  function handle(event) {
    if (event.type === "session.ready") {
      me = event.participant.id;
      list.replaceChildren(); // after a reconnection the server's list is the whole truth
      for (const bookmark of event.bookmarks || []) add(bookmark);
    } else if (event.type === "bookmark.added") {
      add(event.bookmark);
      if (waiting && event.bookmark.author.id === me) {
        waiting = false;
        note.value = "";
        status.textContent = interpolate(gettext("Bookmarked at %(time)s."), { time: clock(event.bookmark.at_ms) });
      }
    } else if (event.type === "error" && waiting) {
      waiting = false; // the room's alert says why (a note too long, too many bookmarks)
      status.textContent = gettext("Not bookmarked.");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    waiting = send({ type: "bookmark.add", note: note.value.trim() });
    status.textContent = waiting ? gettext("Bookmarking…") : gettext("Not connected: try again when the room is back.");
  });

  return { handle };
}
