// The transcript page's player: play any segment from its start, mark the segment being heard,
// and let hosts correct it with one key. Segments carry their recording's URL and where they
// start and end in it (data-recording-url, data-start-ms, data-end-ms), rendered by the server.

import { gettext, interpolate } from "./i18n.js";

// sessionStorage, not the URL: the correction's redirect is the server's, and the place only
// matters for the page load that follows a save in this tab
const PLACE_KEY = "transcript-audio-place";

const audio = document.getElementById("transcript-audio");
const nowPlaying = document.getElementById("now-playing");
let list = null; // the <ol> being played (side by side, there are two)
let current = null; // the segment being heard
let seeking = false; // until a jump lands, timeupdate still reports the old position
// Seek once the duration is known: before that Chromium may not honour currentTime. Only
// the latest jump counts when Play is pressed again before a recording has loaded.
let pendingSeek = null;

function describe(segment) {
  const speaker = segment.querySelector(".speaker").textContent;
  const time = segment.querySelector(".time").textContent;
  return interpolate(gettext("the segment at %(time)s (%(speaker)s)"), { time, speaker });
}

function setCurrent(segment) {
  if (segment === current) return;
  if (current) {
    current.classList.remove("playing");
    current.removeAttribute("aria-current");
  }
  current = segment;
  if (segment) {
    segment.classList.add("playing");
    segment.setAttribute("aria-current", "true");
  }
}

// The last segment of the playing recording that started by `ms`: it stays marked through
// the pause after it, so "the segment being heard" is the one just said. Playback stays in
// one speaker's recording; other speakers' segments are not marked while it plays on.
function heardAt(ms) {
  let found = null;
  for (const segment of list.querySelectorAll(".segment[data-recording-url]")) {
    if (segment.dataset.recordingUrl !== audio.dataset.url) continue;
    if (Number(segment.dataset.startMs) > ms) break;
    found = segment;
  }
  return found;
}

function load(url, seconds, then) {
  seeking = true;
  const seek = () => {
    audio.currentTime = seconds;
    if (then) then();
  };
  if (audio.dataset.url === url && audio.readyState >= HTMLMediaElement.HAVE_METADATA) {
    pendingSeek = null;
    seek();
    return;
  }
  pendingSeek = seek;
  if (audio.dataset.url !== url) {
    audio.dataset.url = url;
    audio.src = url; // starts loading
  } else if (audio.networkState !== HTMLMediaElement.NETWORK_LOADING) {
    audio.load(); // after an error, say: try again
  }
}

function playFrom(segment, startMs = Number(segment.dataset.startMs), what = describe(segment)) {
  list = segment.closest("ol");
  setCurrent(segment);
  nowPlaying.textContent = interpolate(gettext("Playing from %(what)s."), { what });
  load(segment.dataset.recordingUrl, startMs / 1000, () => {
    audio.play().catch((error) => {
      nowPlaying.textContent = interpolate(gettext("The recording could not be played (%(error)s)."), {
        error: error.message,
      });
    });
  });
}

function onPlayClick(event) {
  const button = event.target.closest(".play-from");
  if (!button) return;
  const bookmark = button.closest(".bookmark");
  if (!bookmark) return playFrom(button.closest(".segment"));
  // A bookmark plays in the recording of the segment said at (or after) its moment, which
  // the server chose: from the moment itself, marking that segment as it goes on.
  const segment = document.getElementById(bookmark.dataset.segment);
  const when = bookmark.querySelector(".time").textContent;
  playFrom(segment, Number(bookmark.dataset.startMs), interpolate(gettext("the bookmark at %(time)s"), { time: when }));
}

function isTyping(target) {
  return target instanceof Element && target.closest("input, textarea, select, [contenteditable]");
}

// E: pause and open the correction of the segment being heard (hosts only have the form).
function onKey(event) {
  if (event.key !== "e" && event.key !== "E") return;
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (isTyping(event.target)) return;
  const details = current && current.querySelector("details.correct");
  if (!details) return;
  event.preventDefault();
  audio.pause();
  details.open = true;
  const box = details.querySelector("textarea");
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

// Saving a correction reloads the page: remember where we were, and come back there.
function rememberPlace(event) {
  const segment = event.target.closest(".segment[data-recording-url]");
  if (!segment || !audio.dataset.url) return;
  const place = { segment: segment.id, url: audio.dataset.url, time: audio.currentTime };
  sessionStorage.setItem(PLACE_KEY, JSON.stringify(place));
}

function restore() {
  let place = null;
  try {
    place = JSON.parse(sessionStorage.getItem(PLACE_KEY));
  } catch {
    place = null;
  }
  sessionStorage.removeItem(PLACE_KEY);
  const segment = place && document.getElementById(place.segment);
  if (!segment || segment.dataset.recordingUrl !== place.url) return;
  list = segment.closest("ol");
  setCurrent(segment);
  nowPlaying.textContent = interpolate(gettext("Paused in %(what)s."), { what: describe(segment) });
  load(place.url, Number(place.time) || 0);
  // After a refused correction the box is open again: leave the focus to it. Otherwise the
  // keyboard goes on from the segment's Play button, focused once the page has loaded:
  // Chromium takes the focus away when it scrolls to the #segment fragment.
  if (!segment.querySelector("details.correct[open]")) {
    const button = segment.querySelector(".play-from");
    const focus = () => setTimeout(() => button.focus());
    if (document.readyState === "complete") focus();
    else window.addEventListener("load", focus, { once: true });
  }
}

/** The player, on a transcript whose segments have recordings (the page then has it). */
export function startTranscriptAudio() {
  if (!audio) return;
  audio.closest(".player").hidden = false;
  document.querySelector(".player-help").hidden = false;
  for (const button of document.querySelectorAll(".play-from")) button.hidden = false;
  audio.addEventListener("loadedmetadata", () => {
    const seek = pendingSeek;
    pendingSeek = null;
    if (seek) seek();
  });
  audio.addEventListener("error", () => {
    seeking = false;
    nowPlaying.textContent = gettext("The recording could not be loaded.");
  });
  audio.addEventListener("seeked", () => {
    seeking = false;
  });
  audio.addEventListener("timeupdate", () => {
    if (!list || seeking) return;
    setCurrent(heardAt(audio.currentTime * 1000));
  });
  document.addEventListener("click", onPlayClick);
  document.addEventListener("keydown", onKey);
  document.addEventListener("submit", rememberPlace);
  restore();
}
