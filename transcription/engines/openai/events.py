"""The OpenAI engine's server events → the engine interface's events, for one speaker's session.

With server VAD, the server says where utterances start and stop, and each of its item ids is an
utterance. With a streaming model the engine commits each utterance itself
(:mod:`.turns`); the server sends deltas while speech goes on, under an item id it
allocated before the commit that will report it, so an unknown id is matched to our utterances
by order: the oldest one committed whose ``committed`` has not come yet, else the one being
spoken (``committed`` events come in commit order, and a server handles client events in order,
so no delta of later audio precedes the ``committed`` of an earlier commit).
"""

from __future__ import annotations

import logging
from typing import Any

from ..base import (
    EngineError,
    EventQueue,
    Final,
    Partial,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)
from .connection import Link
from .protocol import (
    BYTES_PER_MS,
    COMMITTED,
    COMPLETED,
    DELTA,
    ERROR,
    FAILED,
    SESSION_UPDATED,
    SPEECH_STARTED,
    SPEECH_STOPPED,
    describe_error,
    logprob_values,
    mean,
    new_id,
)
from .replay import ReplayBuffer, Utterance
from .state import ServerSession, Utterances
from .turns import StreamingTurns

logger = logging.getLogger(__name__)

#: an utterance replayed after a reconnect keeps its item id if it starts this close to it
SAME_UTTERANCE_MS = 1000
#: how long before its first delta an utterance the VAD did not hear began: OpenAI's first
#: delta comes 0.5–1.4 s after speech starts, depending on ``delay``
DELTA_LAG_MS = 1500


class ServerEvents:
    """Reads one session's server events into the engine interface's, on the state it is handed.

    The session (:class:`~.realtime.OpenAIRealtimeSession`) hands it what both change: the
    link, the current server session, the utterances in flight, the replay buffer, the event
    queue and, with a streaming model, its own turns.
    """

    def __init__(
        self,
        config: SessionConfig,
        link: Link,
        server: ServerSession,
        utterances: Utterances,
        buffer: ReplayBuffer,
        out: EventQueue,
        turns: StreamingTurns | None,
    ) -> None:
        self.config = config
        self.link = link
        self.server = server
        self.utterances = utterances
        self.buffer = buffer
        self.out = out
        self.turns = turns
        self.streaming = turns is not None

    def handle(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        item_id = str(getattr(event, "item_id", None) or "")
        if kind == SPEECH_STARTED:
            start_ms = self.server.ms(getattr(event, "audio_start_ms", None))
            self._speech_started(item_id, start_ms)
        elif kind == SPEECH_STOPPED:
            item = self._item(item_id)
            item.end_ms = self.server.ms(getattr(event, "audio_end_ms", None))
            self.server.hear(item.end_ms)
            self.out.put_nowait(SpeechStopped(item.id, item.end_ms))
            self.trim()
        elif kind == COMMITTED:
            if self.streaming:
                self._stream_committed(item_id)
            else:
                self._committed(item_id)
        elif kind == DELTA:
            item = self._streamed_item(item_id) if self.streaming else self._item(item_id)
            self._delta(item, event)
        elif kind == COMPLETED:
            self._completed(item_id, event)
        elif kind == FAILED:
            item = self.utterances.items.pop(item_id, None)
            code, message = describe_error(event)
            self.out.put_nowait(EngineError(code, f"{item.id if item else item_id}: {message}"))
            self.trim()
        elif kind == SESSION_UPDATED:
            if self.server.fence is not None:
                self.server.fence_acked = True
        elif kind == ERROR:
            self._error(event)

    def trim(self) -> None:
        """Forget audio the server is done with: what precedes every pending utterance."""
        if not self.link.connected:
            return
        sent = self.server.sent
        starts = [item.start_ms * BYTES_PER_MS for item in self.utterances.pending()]
        if starts:
            keep = min(starts)
        elif self.streaming:  # nobody speaks: keep what a new utterance's padding may need
            keep = sent - self.config.prefix_padding_ms * BYTES_PER_MS
        else:
            keep = self.server.heard
        self.buffer.drop_until(min(keep, sent))

    def _error(self, event: Any) -> None:
        code, message = describe_error(event)
        utterances = self.utterances
        if code != "input_audio_buffer_commit_empty":
            logger.warning("realtime error %s: %s", code, message)
            self.out.put_nowait(EngineError(code, message))
        elif self.streaming and (item := utterances.next_unbound()) is not None:
            # too little audio for a commit of its own: it joins the next utterance's
            logger.info("an utterance too short to commit: %s", message)
            utterances.awaiting = [u for u in utterances.awaiting if u is not item]
        else:
            # close() commits the tail, which is often empty: nothing was lost
            logger.debug("empty commit: %s", message)

    # --- server VAD ----------------------------------------------------------------------

    def _speech_started(self, item_id: str, start_ms: int) -> None:
        self.server.hear(start_ms)
        # after a reconnect the replayed speech gets new ids from the server; keep ours, so
        # that the partials already shown are finished by this utterance's final
        lost, items = self.utterances.lost, self.utterances.items
        while lost and lost[0].end_ms is not None and lost[0].end_ms <= start_ms:
            lost.pop(0)
        if lost and lost[0].start_ms <= start_ms + SAME_UTTERANCE_MS:
            old = lost.pop(0)
            items[item_id] = Utterance(old.id, start_ms, shown=old.shown)
            return
        items[item_id] = Utterance(item_id, start_ms)
        self.out.put_nowait(SpeechStarted(item_id, start_ms))

    def _committed(self, item_id: str) -> None:
        items = self.utterances.items
        item = items.get(item_id)
        if item is None:
            # a manual commit while the VAD heard speech may get an id of its own
            speaking = [i for i in items.values() if i.end_ms is None and not i.committed]
            if speaking:
                item = items[item_id] = speaking[0]
            else:
                item = self._item(item_id)
        item.committed = True
        if item.end_ms is None:
            item.end_ms = self.server.sent // BYTES_PER_MS

    # --- streaming models: our commits -----------------------------------------------------

    def _streamed_item(self, item_id: str) -> Utterance:
        assert self.turns is not None
        utterances, sent = self.utterances, self.server.sent
        item = utterances.items.get(item_id)
        if item is None:
            item = utterances.next_unbound() or utterances.current
            if item is None:
                since_ms = sent // BYTES_PER_MS - DELTA_LAG_MS
                item = self.turns.start(max(utterances.last_commit // BYTES_PER_MS, since_ms))
            item.server_id = item_id
            utterances.items[item_id] = item
        item.heard_at = sent
        return item

    def _stream_committed(self, item_id: str) -> None:
        utterances = self.utterances
        item = utterances.items.get(item_id) or utterances.next_unbound()
        if item is None:  # not a commit of ours: transcribed all the same
            start_ms = utterances.last_commit // BYTES_PER_MS
            item = Utterance(new_id("item"), start_ms, announced=False)
            item.end_ms = self.server.sent // BYTES_PER_MS
        item.server_id = item_id
        item.committed = True
        utterances.items[item_id] = item
        utterances.awaiting = [u for u in utterances.awaiting if u is not item]

    # --- every model ---------------------------------------------------------------------

    def _delta(self, item: Utterance, event: Any) -> None:
        item.text += str(getattr(event, "delta", None) or "")
        item.logprobs += logprob_values(getattr(event, "logprobs", None))
        text = item.text.strip()
        if len(text) > item.shown:
            if not item.announced:
                item.announced = True
                self.out.put_nowait(SpeechStarted(item.id, item.start_ms))
            item.shown = len(text)
            self.out.put_nowait(Partial(item.id, text))

    def _completed(self, item_id: str, event: Any) -> None:
        items = self.utterances.items
        item = items.pop(item_id, None) or Utterance(item_id, self.server.heard // BYTES_PER_MS)
        for other_id in [k for k, v in items.items() if v is item]:
            del items[other_id]
        text = str(getattr(event, "transcript", None) or "").strip()
        logprobs = logprob_values(getattr(event, "logprobs", None)) or item.logprobs
        if text:
            end_ms = item.end_ms if item.end_ms is not None else item.start_ms
            if not item.announced:
                self.out.put_nowait(SpeechStarted(item.id, item.start_ms))
                self.out.put_nowait(SpeechStopped(item.id, end_ms))
            language = self.config.language
            self.out.put_nowait(
                Final(item.id, text, item.start_ms, end_ms, mean(logprobs), language)
            )
        self.trim()

    def _item(self, item_id: str) -> Utterance:
        items = self.utterances.items
        if item_id not in items:
            items[item_id] = Utterance(item_id, self.server.heard // BYTES_PER_MS)
        return items[item_id]
