// The caption-only view of a caption link, and the page's entry: its read-only socket
// (docs/PROTOCOL.md, "Caption links") and the last few lines, for a projector or a streaming
// overlay. No controls.
import { applyCaptionSettings } from "./caption-settings.js";
import { CaptionList } from "./captions.js";
import { closeCodes } from "./close-codes.js";
import { gettext } from "./i18n.js";

const GONE_MESSAGE = gettext("This caption link was revoked by a host of the meeting.");

const view = document.getElementById("caption-view");
const status = document.getElementById("caption-view-status");
let captions = null;
let retries = 0;
let gone = false;
// the server says why: revoked, or its maker is no longer a host of the meeting
let goneMessage = GONE_MESSAGE;

function say(text) {
  status.textContent = text;
  status.hidden = !text;
}

function handle(event) {
  switch (event.type) {
    case "viewer.ready":
      retries = 0;
      say(event.ended ? gettext("The meeting has ended.") : "");
      for (const final of event.history) captions.show(final, true);
      break;
    case "caption.partial":
      captions.show(event, false);
      break;
    case "caption.final":
      captions.show(event, true, { live: true });
      break;
    case "meeting.ended":
      say(gettext("The meeting has ended."));
      break;
    case "meeting.reopened":
      say("");
      break;
    case "viewer.revoked":
      gone = true;
      goneMessage = event.message || GONE_MESSAGE;
      break;
  }
}

function stop(message) {
  gone = true;
  document.getElementById("captions").replaceChildren();
  say(message);
}

function connect(wsUrl) {
  const socket = new WebSocket(wsUrl);
  socket.addEventListener("message", (message) => handle(JSON.parse(message.data)));
  socket.addEventListener("close", (event) => {
    const { codes, final } = closeCodes();
    // unknown, revoked, or stopped while open: only a new link helps
    if (gone || final.includes(event.code)) {
      stop(goneMessage);
      return;
    }
    // back off, with jitter, so a restarted server is not met by every screen at once
    const first = event.code === codes.TOO_MANY ? 30000 : 1000;
    const delay = Math.min(60000, first * 2 ** retries) * (0.75 + Math.random() / 2);
    retries += 1;
    say(gettext("Reconnecting…"));
    setTimeout(() => connect(wsUrl), delay);
  });
}

function start() {
  const config = JSON.parse(document.getElementById("caption-view-config").textContent);
  const wsUrl = new URL(view.dataset.wsPath, location.href);
  wsUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  applyCaptionSettings({ size: config.size, lines: config.lines });
  captions = new CaptionList(document.getElementById("captions"), {
    lowConfidence: 0, // a view shows no confidence
    // a few lines more than are shown, so a line that grows keeps the ones above it
    maxLines: config.lines ? config.lines + 3 : 100,
  });
  connect(wsUrl);
}

if (view) start();
