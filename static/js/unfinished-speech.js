// What this page said that the server has not finished captioning: the audio of its utterances
// without a final yet, kept so that it can be sent again when the connection drops without a
// goodbye (a server process killed, the network gone). The room comes back, perhaps on another
// process that never heard it; the server stores again only what was not stored before
// (session.start's backlog_ms, docs/PROTOCOL.md).
//
// Positions are milliseconds of audio since this connection's session.start: the clock of the
// server's speech.started events (audio_ms).

export class UnfinishedSpeech {
  constructor() {
    this.KEEP_MS = 20000; // the most kept: an utterance is cut at 15 s
    this.LEAD_MS = 500; // kept before an utterance's reported start: the VAD's own lead-in
    this.QUIET_KEEP_MS = 2000; // kept with no utterance open: speech not reported yet
    this.GIVE_UP_MS = 30000; // an utterance with no final this long after its start came to nothing
    this.restart();
  }

  // A new session.start on a connection: a new clock. Until one gives the capture's rate, the
  // rate the speech engine wants.
  restart(sampleRate = 16000) {
    this.sampleRate = sampleRate;
    this.clock = 0;
    this.frames = []; // {at, ms, pcm}
    this.open = new Map(); // item_id → start ms
    this.missedMs = 0; // of open utterances, audio no longer kept
  }

  sent(pcm) {
    const ms = (pcm.byteLength / 2 / this.sampleRate) * 1000;
    this.frames.push({ at: this.clock, ms, pcm });
    this.clock += ms;
    this.trim();
  }

  started(itemId, audioMs) {
    this.open.set(itemId, audioMs);
  }

  finished(itemId) {
    this.open.delete(itemId);
    this.trim();
  }

  trim() {
    for (const [itemId, start] of this.open) {
      if (this.clock - start > this.GIVE_UP_MS) this.open.delete(itemId);
    }
    const starts = [...this.open.values()];
    const from = starts.length
      ? Math.min(...starts) - this.LEAD_MS
      : this.clock - this.QUIET_KEEP_MS;
    const oldest = Math.max(from, this.clock - this.KEEP_MS);
    while (this.frames.length && this.frames[0].at + this.frames[0].ms <= oldest) {
      this.frames.shift();
    }
    if (starts.length && this.frames.length && this.frames[0].at > Math.min(...starts)) {
      this.missedMs = Math.max(this.missedMs, this.frames[0].at - Math.min(...starts));
    }
  }

  // The audio to send again after the connection dropped, and how much of the unfinished
  // speech was no longer kept (reported to the speaker, never silently dropped).
  takeForReplay() {
    const frames = this.frames.map((frame) => frame.pcm);
    const missedMs = this.open.size ? this.missedMs : 0;
    this.restart(this.sampleRate);
    return { frames, missedMs };
  }
}
