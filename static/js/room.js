// The live part of the room page, and the page's entry: one WebSocket to /ws/meetings/<slug>/
// (docs/PROTOCOL.md) that brings every participant's captions and, after Start, carries this
// microphone. The room's features (its own, mentions and bookmarks, and those the apps above the
// core add, features.js) each hear every server event and every final before it is shown, and
// send through `send`.
import { startBookmarks } from "./bookmarks.js";
import { CaptionList } from "./captions.js";
import { closeCodes } from "./close-codes.js";
import { startFeature, startFeatures } from "./features.js";
import { gettext, interpolate } from "./i18n.js";
import { MeetingState } from "./meeting-end.js";
import { startMentions } from "./mentions.js";
import { keepMicProcessingChoice } from "./mic-processing.js";
import { ParticipantList } from "./participants.js";
import { UnfinishedSpeech } from "./unfinished-speech.js";

/**
 * A feature of the room (null where the page or the person has none of it).
 * @typedef {object} RoomFeature
 * @property {(event: object) => void} [handle] every event from the server, after the meeting's
 * @property {(shown: ShownFinal) => void} [beforeFinal] a final about to be shown (captions.js)
 */

const room = document.getElementById("room");

const els = {
  captions: document.getElementById("captions"),
  status: document.getElementById("connection-status"),
  alert: document.getElementById("room-alert"),
  start: document.getElementById("mic-start"),
  stop: document.getElementById("mic-stop"),
  meter: document.getElementById("mic-level"),
  processing: document.getElementById("mic-processing"),
  participants: document.getElementById("participants"),
  presenceCount: document.getElementById("presence-count"),
  participantsMore: document.getElementById("participants-more"),
};
const canSpeak = room?.dataset.canSpeak === "true";

const FRAME_MS = 100;
const PING_EVERY_MS = 20000;
const MAX_QUEUED_FRAMES = 200; // 20 s of audio kept while the connection is down
const MAX_RESENT_MS = 25000; // within the server's CAPTIONS_AUDIO_BURST_SECONDS (30)

let socket = null;
let retries = 0;
let lastError = null; // the server's last error: it says why a close happened
let retryTimer = null;
let pingTimer = null;
let leaving = false;
let capture = null; // {context, stream, node, sampleRate}
const queuedFrames = [];
let me = null; // this participant's id, from session.ready
const unfinished = new UnfinishedSpeech();
let replay = null; // unfinished speech to send again once the room is back
let meeting = null; // meeting-end.js: the meeting's end as every page sees it, the host's controls
let captions = null;
let participants = null;
/** @type {RoomFeature[]} */
let features = [];

// --- Connection ------------------------------------------------------------------

function connect() {
  clearTimeout(retryTimer);
  setStatus("connecting", gettext("Connecting…"));
  const url = new URL(room.dataset.wsPath, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", onOpen);
  socket.addEventListener("message", (message) => {
    if (typeof message.data === "string") handleEvent(JSON.parse(message.data));
  });
  socket.addEventListener("close", onClose);
}

function onOpen() {
  pingTimer = setInterval(() => send({ type: "ping" }), PING_EVERY_MS);
  if (capture) startSpeaking(replay);
  replay = null;
}

function onClose(event) {
  clearInterval(pingTimer);
  socket = null;
  if (leaving) return;
  // Closed without a goodbye (1006: the server process died, or the network): what it had
  // not finished is sent again. A server that closes properly finishes it itself.
  if (capture && event.code === 1006) replay = unfinished.takeForReplay();
  // The server says why it closes (an error event) just before it does.
  const { codes, messages, final } = closeCodes();
  const reason = (event.code >= 4000 && lastError && lastError.message) || messages[event.code];
  lastError = null;
  if (final.includes(event.code)) {
    setStatus("closed", gettext("Disconnected"));
    showAlert(reason);
    stopCapture();
    return;
  }
  const delay = retryDelay(event.code);
  retries += 1;
  const seconds = Math.ceil(delay / 1000);
  if (event.code === codes.TOO_MANY) {
    setStatus("waiting", interpolate(gettext("Not connected. Trying again in %(seconds)s s…"), { seconds }));
    showAlert(`${reason} ${interpolate(gettext("This page tries again in %(seconds)s s."), { seconds })}`);
  } else {
    setStatus("reconnecting", interpolate(gettext("Connection lost. Reconnecting in %(seconds)s s…"), { seconds }));
    if (reason) showAlert(reason);
  }
  retryTimer = setTimeout(connect, delay);
}

function retryDelay(code) {
  // Exponential backoff with full jitter: when a server process goes, its thousand listeners
  // come back spread over the first seconds, not all in the same one. 30 s first when refused
  // as too many.
  const tooMany = code === closeCodes().codes.TOO_MANY;
  const [first, most] = tooMany ? [30000, 300000] : [2000, 30000];
  const ceiling = Math.min(most, first * 2 ** retries);
  return tooMany ? ceiling * (0.75 + Math.random() / 2) : 250 + Math.random() * ceiling;
}

function send(message) {
  const open = Boolean(socket && socket.readyState === WebSocket.OPEN);
  if (open) socket.send(JSON.stringify(message));
  return open; // false: not sent (meeting-end.js and bookmarks.js say so)
}

function sendAudio(pcm) {
  if (socket && socket.readyState === WebSocket.OPEN && socket.speaking) {
    socket.send(pcm);
    unfinished.sent(pcm);
  } else {
    // Kept while reconnecting, sent as soon as the room is back.
    queuedFrames.push(pcm);
    if (queuedFrames.length > MAX_QUEUED_FRAMES) queuedFrames.shift();
  }
}

function startSpeaking(again) {
  const { frames, missedMs: missed } = again || { frames: [], missedMs: 0 };
  const waiting = queuedFrames.splice(0);
  // All at once, within the server's burst allowance: beyond it, the oldest audio goes.
  const msOf = (pcm) => (pcm.byteLength / 2 / capture.sampleRate) * 1000;
  let missedMs = missed;
  let overMs = [...frames, ...waiting].reduce((sum, pcm) => sum + msOf(pcm), 0) - MAX_RESENT_MS;
  while (overMs > 0 && (frames.length || waiting.length)) {
    const pcm = frames.length ? frames.shift() : waiting.shift();
    overMs -= msOf(pcm);
    missedMs += msOf(pcm);
  }
  // captured that long ago: the server dates the captions back, and stores none twice
  const backlogMs = Math.round([...frames, ...waiting].reduce((sum, pcm) => sum + msOf(pcm), 0));
  send({ type: "session.start", sample_rate: capture.sampleRate, backlog_ms: backlogMs });
  socket.speaking = true;
  unfinished.restart(capture.sampleRate);
  for (const pcm of [...frames, ...waiting]) {
    socket.send(pcm);
    unfinished.sent(pcm);
  }
  if (missedMs > 0) {
    const seconds = Math.ceil(missedMs / 1000);
    showAlert(
      interpolate(
        gettext(
          "The connection dropped while you spoke: about %(seconds)s s of what you said could not be sent again and may be missing from the captions.",
        ),
        { seconds },
      ),
    );
  }
}

// --- Events from the server ------------------------------------------------------

function handleEvent(event) {
  meeting.handle(event); // session.ready, meeting.ended, meeting.reopened, meeting_ended
  tellFeatures("handle", event);
  switch (event.type) {
    case "session.ready":
      me = event.participant.id;
      retries = 0;
      lastError = null;
      setStatus("connected", gettext("Connected"));
      hideAlert();
      participants.render(event);
      for (const final of event.history) captions.show(final, true, { mine: final.speaker.id === me });
      break;
    case "caption.partial":
      captions.show(event, false);
      break;
    case "caption.final":
      if (event.speaker.id === me) unfinished.finished(event.item_id);
      captions.show(event, true, { live: true, mine: event.speaker.id === me });
      break;
    case "speech.started":
      if (event.speaker.id === me) unfinished.started(event.item_id, event.audio_ms);
      break;
    case "presence.changed":
      participants.update(event);
      break;
    case "participants.page":
      participants.addPage(event);
      break;
    case "error":
      lastError = event;
      showAlert(event.message);
      if (event.code === "forbidden") loseTheFloor();
      // The server is full of speakers, or the paid engine's minutes are spent: the
      // microphone goes off; this person keeps listening, and the microphone button
      // (focused) tries again.
      if (event.code === "server_busy" || event.code === "budget_spent") stopCapture();
      break;
    default:
      break; // speech.stopped, pong, session.stopped: nothing to show
  }
}

// Each feature in turn. A feature's error is reported (as an uncaught one would be) and stops
// neither the room's own handling nor the other features.
function tellFeatures(method, value) {
  for (const feature of features) {
    try {
      feature[method]?.(value);
    } catch (error) {
      reportError(error);
    }
  }
}

// --- Microphone ------------------------------------------------------------------

function loseTheFloor() {
  // The host made this person a listener (or they were removed): the microphone goes off.
  stopCapture();
  if (els.start) els.start.hidden = true;
  if (els.stop) els.stop.hidden = true;
  if (els.processing) els.processing.closest("details").hidden = true;
}

function allowMicrophone(allowed) {
  // The meeting ended (the microphone stops and stays off) or started again.
  if (!canSpeak) return;
  if (!allowed) stopCapture();
  els.start.disabled = !allowed;
}

function captureConstraints() {
  // The person's "Microphone processing" choice (mic-processing.js keeps it): each box is
  // named after its getUserMedia constraint.
  const audio = { channelCount: 1 };
  for (const box of els.processing.querySelectorAll("input[type=checkbox]")) {
    audio[box.name] = box.checked;
  }
  return { audio };
}

async function startCapture() {
  hideAlert();
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    showAlert(
      gettext(
        "This browser cannot capture the microphone here: it needs a recent browser and a secure page (https or localhost).",
      ),
    );
    return;
  }
  els.start.disabled = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(captureConstraints());
  } catch (error) {
    els.start.disabled = false;
    showAlert(microphoneErrorMessage(error));
    return;
  }
  try {
    capture = await openAudioGraph(stream);
  } catch (error) {
    stream.getTracks().forEach((track) => track.stop());
    els.start.disabled = false;
    showAlert(interpolate(gettext("The microphone could not be started (%(error)s)."), { error: error.message }));
    return;
  }
  els.start.hidden = true;
  els.stop.hidden = false;
  els.stop.focus();
  if (socket && socket.readyState === WebSocket.OPEN) startSpeaking();
}

async function openAudioGraph(stream) {
  // 16 kHz is what the speech engine wants; browsers that cannot resample a
  // microphone stream themselves get their own rate and the server resamples.
  let context = new AudioContext({ sampleRate: 16000, latencyHint: "interactive" });
  let source;
  try {
    source = context.createMediaStreamSource(stream);
  } catch {
    await context.close();
    context = new AudioContext({ latencyHint: "interactive" });
    source = context.createMediaStreamSource(stream);
  }
  await context.audioWorklet.addModule(room.dataset.workletUrl);
  // No outputs: the browser pulls the node on its own, nothing is played back.
  const node = new AudioWorkletNode(context, "pcm-capture", {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: 1,
    channelCountMode: "explicit",
    processorOptions: { frameMs: FRAME_MS },
  });
  node.port.onmessage = ({ data }) => {
    sendAudio(data.pcm);
    showLevel(data.level);
  };
  source.connect(node);
  await context.resume();
  // Keep the source referenced: a collected source node silently stops the audio.
  return { context, stream, source, node, sampleRate: context.sampleRate };
}

let reopening = Promise.resolve();

function onProcessingChange() {
  // One reopening at a time, each with the boxes as they are when it runs.
  if (capture) reopening = reopening.then(reopenMicrophone);
}

async function reopenMicrophone() {
  // Browsers apply these options only when a microphone opens (Chromium's applyConstraints
  // resolves and changes nothing), so a new choice needs a new stream. It feeds the same
  // audio graph: the session goes on, and the server hears a short silence, not a stop.
  const old = capture;
  if (!old) return;
  // Close the old stream first: asked again while the device is open, Chromium hands out
  // the noise suppression and gain it was opened with, whatever the new request says.
  old.source.disconnect();
  old.stream.getTracks().forEach((track) => track.stop());
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(captureConstraints());
  } catch (error) {
    if (capture === old) stopCapture(); // not a capture started since
    showAlert(microphoneErrorMessage(error));
    return;
  }
  if (capture !== old) {
    stream.getTracks().forEach((track) => track.stop()); // stopped meanwhile
    return;
  }
  capture.stream = stream;
  capture.source = capture.context.createMediaStreamSource(stream);
  capture.source.connect(capture.node);
}

function stopCapture() {
  if (!capture) return;
  const { context, stream, source, node } = capture;
  capture = null;
  node.port.onmessage = null;
  source.disconnect();
  stream.getTracks().forEach((track) => track.stop());
  context.close();
  queuedFrames.length = 0;
  unfinished.restart(); // nothing is sent again after a stop
  replay = null;
  if (socket) {
    send({ type: "session.stop" });
    socket.speaking = false;
  }
  showLevel(0);
  els.stop.hidden = true;
  els.start.hidden = false;
  els.start.disabled = false;
  els.start.focus();
}

function microphoneErrorMessage(error) {
  switch (error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return gettext(
        "Microphone access was denied. Allow the microphone for this site in the browser's settings, then press Start again.",
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return gettext("No microphone was found. Connect one and press Start again.");
    case "NotReadableError":
      return gettext("The microphone is in use by another application or could not be read.");
    default:
      return interpolate(gettext("The microphone could not be opened (%(error)s)."), { error: error.message || error.name });
  }
}

function showLevel(rms) {
  if (!els.meter) return;
  // Speech sits between -50 and -10 dBFS; show that range across the meter.
  const db = 20 * Math.log10(Math.max(rms, 1e-5));
  els.meter.value = Math.min(1, Math.max(0, (db + 60) / 50));
}

// --- Page state ------------------------------------------------------------------

function setStatus(state, text) {
  els.status.dataset.state = state;
  els.status.textContent = text;
}

function showAlert(text) {
  if (!text) return;
  els.alert.textContent = text;
  els.alert.hidden = false;
}

function hideAlert() {
  els.alert.hidden = true;
  els.alert.textContent = "";
}

async function start() {
  // the person's own microphone processing, restored before the microphone can start
  if (els.processing) keepMicProcessingChoice(els.processing);
  meeting = new MeetingState(room, { send, microphone: allowMicrophone, alert: showAlert });
  captions = new CaptionList(els.captions, {
    lowConfidence: Number(room.dataset.lowConfidence),
    // in this order: mentions marks the line, then translation may hide it until translated
    beforeFinal: (shown) => tellFeatures("beforeFinal", shown),
  });
  const added = await startFeatures({ send, keepNewestInView: () => captions.keepNewestInView() });
  features = [startFeature(startMentions), startFeature(() => startBookmarks(send)), ...added].filter(
    Boolean,
  );
  participants = new ParticipantList(els.participants, {
    count: els.presenceCount,
    more: els.participantsMore,
    send,
  });
  if (canSpeak) {
    els.start.hidden = false;
    els.start.addEventListener("click", startCapture);
    els.stop.addEventListener("click", stopCapture);
    els.processing.addEventListener("change", onProcessingChange);
  }
  window.addEventListener("pagehide", () => {
    leaving = true;
    if (socket) socket.close(1000);
  });
  connect();
}

if (room) start();
