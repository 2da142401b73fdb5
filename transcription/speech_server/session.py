"""One realtime transcription session, run the way OpenAI's server runs it.

With server VAD, audio flows into one local engine session whose speech events become VAD
events and commits, whose partials become deltas while the utterance is spoken, and whose finals
become the transcription. A client commit ends that local session (finishing the speech in it)
and a new one takes the next audio: the local engine reports when a session is done, not when
one utterance found no words.

Without turn detection, audio collects until a commit, then goes through a session of its own;
with a streaming model (``gpt-realtime-whisper``, ``gpt-live-transcribe``) it streams instead, as
at OpenAI: it flows into a local session as it comes, under an item id allocated before the
commit that will report it, and the local session's partials and finals (one per pause) become
deltas of that item. The commit finishes the local session and completes the item with the
finals joined: one ``completed`` per commit, all of its speech. ``clear`` drops that audio and
its item (deltas already sent for it are never committed); so does a ``session.update`` that
changes whether uncommitted audio is buffered or streamed. A change that keeps it streaming
finishes the local session, and the same item goes on in a new one (with the new ``delay``).

Deltas are append-only: only words that have become stable are sent, and the final adds what
follows them (:mod:`.deltas`). Where the final contradicts words already sent, the deltas and the
transcript differ there, and ``completed`` is the truth. No delta of an item follows its
``completed``. With ``logprobs`` included, deltas sent before the final carry none (the decoder
scores only finals); the final's deltas and ``completed`` carry them, as before.

Client events are handled one at a time, in order, as OpenAI does. Every event sent is built
through the SDK's model of it (:func:`~transcription.engines.openai.protocol.server_event`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import logging
import time
from typing import Any

from openai.types.realtime import (
    InputAudioBufferClearedEvent,
    InputAudioBufferSpeechStartedEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)

from ..audio import WHISPER_SAMPLE_RATE, StreamResampler
from ..engines.base import (
    EngineSession,
    Final,
    Partial,
    RealtimeEngine,
    SpeechStarted,
    SpeechStopped,
)
from ..engines.openai.protocol import (
    APPEND,
    CLEAR,
    CLIENT_EVENTS,
    COMMIT,
    MAX_APPEND_BYTES,
    MIN_COMMIT_MS,
    SESSION_UPDATE,
    STREAMING_MODELS,
    Item,
    ProtocolError,
    new_id,
    server_event,
)
from .audio import InputDecoder, local_config, transcribe_buffer
from .deltas import DeltaStream, StreamedItem, delta_stream
from .items import ItemEvents
from .schema import (
    apply_session_update,
    choice,
    default_settings,
    expect,
    json_type,
    known_keys,
    session_object,
)
from .sockets import Socket

logger = logging.getLogger(__name__)

#: the pause that ends a final inside a streamed commit (SessionConfig's default)
STREAM_PAUSE_MS = 500


class TranscriptionSession(ItemEvents):
    """One WebSocket's transcription session; see the module docstring."""

    def __init__(self, ws: Socket, engine: RealtimeEngine, max_seconds: float) -> None:
        self.ws = ws
        self.engine = engine
        self.id = new_id("sess")
        self.expires_at = int(time.time() + max_seconds)
        self.settings = default_settings()
        self.audio_ms = 0.0  # the session's audio clock: ms of input appended
        self.last_commit_ms = 0.0
        self.commits = 0
        self.previous_item_id: str | None = None
        self.decoder = InputDecoder()
        self.local: EngineSession | None = None
        self.local_offset_ms = 0.0
        self.resampler: StreamResampler | None = None
        self.pump: asyncio.Task | None = None
        self.manual: list[tuple[bytes, int]] = []  # (pcm16, rate) since the last commit
        self.streamed: StreamedItem | None = None  # the uncommitted audio, when it streams

    async def run(self) -> None:
        await self.send(server_event(SessionCreatedEvent, session=self.session_object()))
        try:
            async for message in self.ws.messages():
                await self.receive(message)
        finally:
            await self._abandon_local()

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(event))

    def session_object(self) -> dict[str, Any]:
        return session_object(self.id, self.expires_at, self.settings)

    # --- client events -----------------------------------------------------------------

    async def receive(self, message: str | bytes) -> None:
        """Handle one client event; a mistake in it is answered with an ``error`` event."""
        client_event_id = None
        try:
            event = _parse(message)
            if isinstance(event.get("event_id"), str):
                client_event_id = event["event_id"]
            kind = event.get("type")
            if kind is None:
                raise ProtocolError("invalid_event", "The 'type' field is missing.")
            handler = self.handlers.get(choice(kind, "type", CLIENT_EVENTS))
            if handler is None:
                raise ProtocolError(
                    "invalid_value",
                    f"'{kind}' is not supported in transcription sessions.",
                    "type",
                )
            await handler(self, event)
        except ProtocolError as error:
            await self.send(error.event(client_event_id))
        except Exception:
            logger.exception("a client event failed")
            failure = "The server had an error while processing your request."
            await self.send(ProtocolError(None, failure, None, "server_error").event())

    async def on_session_update(self, event: dict[str, Any]) -> None:
        known_keys(event, {"type", "event_id", "session"}, None)
        settings = apply_session_update(self.settings, event.get("session"))
        if _audio_settings(settings) != _audio_settings(self.settings):
            # the speech in progress finishes with the settings it started with
            await self._finish_local()
        if settings["format"] != self.settings["format"]:
            self.decoder.reset()
        if settings["turn_detection"] is not None or _streams(settings):
            self.manual = []  # audio only collects while commits are the client's
        if not _streams(settings):
            self.streamed = None
        elif self.streamed is not None:
            self.streamed.stream.use(settings["transcription"].get("delay"))
        self.settings = settings
        await self.send(server_event(SessionUpdatedEvent, session=self.session_object()))

    async def on_append(self, event: dict[str, Any]) -> None:
        known_keys(event, {"type", "event_id", "audio"}, None)
        if "audio" not in event:
            raise ProtocolError(
                "missing_required_parameter", "Missing required parameter: 'audio'.", "audio"
            )
        expect(event["audio"], "audio", "a string")
        try:
            raw = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(
                "invalid_value", "Invalid 'audio': expected base64-encoded audio.", "audio"
            ) from None
        if len(raw) > MAX_APPEND_BYTES:
            raise ProtocolError(
                "invalid_value",
                f"Invalid 'audio': an append holds at most {MAX_APPEND_BYTES} bytes of audio, "
                f"not {len(raw)}.",
                "audio",
            )
        pcm16, rate = self.decoder.decode(raw, self.settings["format"])
        if not pcm16:
            return
        if self.settings["turn_detection"] is None and not _streams(self.settings):
            self.manual.append((pcm16, rate))
        else:
            await self._feed_local(pcm16, rate)
        self.audio_ms += len(pcm16) / 2 / rate * 1000

    async def on_commit(self, event: dict[str, Any]) -> None:
        known_keys(event, {"type", "event_id"}, None)
        if _streams(self.settings):
            await self._commit_streamed()
            return
        if self.settings["turn_detection"] is None:
            buffered_ms = sum(len(pcm) / 2 / rate * 1000 for pcm, rate in self.manual)
            if buffered_ms < MIN_COMMIT_MS:
                raise _commit_empty(buffered_ms)
            item = Item(new_id("item"), round(self.last_commit_ms), round(self.audio_ms))
            audio, self.manual = self.manual, []
            await self._commit_item(item)
            text, avg_logprob = await transcribe_buffer(
                self.engine, local_config(self.settings), audio
            )
            await self._transcribed(item, text, avg_logprob)
            return
        commits = self.commits
        await self._finish_local()
        pending_ms = self.audio_ms - self.last_commit_ms
        if pending_ms >= MIN_COMMIT_MS:
            # no speech in what is left: OpenAI commits it anyway and transcribes nothing
            item = Item(new_id("item"), round(self.last_commit_ms), round(self.audio_ms))
            await self._commit_item(item)
            await self._transcribed(item, "", None)
        elif self.commits == commits:
            raise _commit_empty(pending_ms)

    async def on_clear(self, event: dict[str, Any]) -> None:
        known_keys(event, {"type", "event_id"}, None)
        self.manual = []
        if self.streamed is not None:
            # its item is never committed: the next audio gets one of its own
            await self._abandon_local()
            self.streamed = None
        if self.local is not None:
            await self.local.clear()
        self.last_commit_ms = self.audio_ms
        await self.send(server_event(InputAudioBufferClearedEvent))

    handlers = {
        SESSION_UPDATE: on_session_update,
        APPEND: on_append,
        COMMIT: on_commit,
        CLEAR: on_clear,
    }

    # --- audio into the local engine ---------------------------------------------------

    async def _feed_local(self, pcm16: bytes, rate: int) -> None:
        if self.local is None:
            config, streams = local_config(self.settings), _streams(self.settings)
            if streams:
                # no turn detection to follow: a final at each pause as long as the live
                # captions' (at 200 ms "ask not" alone came out as "S- S- S-")
                config = dataclasses.replace(config, silence_ms=STREAM_PAUSE_MS)
            self.local = await self.engine.open(config)
            self.local_offset_ms = self.audio_ms
            self.resampler = StreamResampler(rate, WHISPER_SAMPLE_RATE)
            if streams:
                if self.streamed is None:
                    item = Item(new_id("item"), round(self.last_commit_ms))
                    stream = DeltaStream(self.settings["transcription"].get("delay"))
                    self.streamed = StreamedItem(item, stream)
                pump = self._stream_pump(self.local, self.streamed)
            else:
                pump = self._pump(self.local, self.local_offset_ms)
            self.pump = asyncio.create_task(pump)
        assert self.resampler is not None
        samples = self.resampler.process(pcm16)
        if samples:
            await self.local.append(samples)

    async def _finish_local(self) -> None:
        """End the local session: its speech is committed and transcribed before this returns."""
        local, pump, resampler = self.local, self.pump, self.resampler
        self.local = self.pump = self.resampler = None
        if local is None or pump is None or resampler is None:
            return
        tail = resampler.process(b"", last=True)
        if tail:
            await local.append(tail)
        await local.close()
        await pump

    async def _abandon_local(self) -> None:
        """Stop without transcribing what was in progress: the client left, or cleared it."""
        local, pump = self.local, self.pump
        self.local = self.pump = None
        if pump is not None:
            pump.cancel()
        if local is not None:
            await local.clear()
            await local.close()

    async def _pump(self, local: EngineSession, offset_ms: float) -> None:
        """The local session's events → VAD events, commits, deltas and transcriptions."""
        items: dict[str, Item] = {}  # by the local session's item id
        streams: dict[str, DeltaStream | None] = {}  # by ours
        waiting: Item | None = None  # committed, its transcript not in yet
        try:
            async for event in local.events():
                if isinstance(event, SpeechStarted):
                    if waiting is not None:
                        # the local engine finishes one utterance before the next starts:
                        # the last one had no words
                        await self._transcribed(waiting, "", None, streams.pop(waiting.id, None))
                        waiting = None
                    start = round(offset_ms + event.audio_ms)
                    items[event.item_id] = item = Item(new_id("item"), start, start)
                    streams[item.id] = delta_stream(self.settings["transcription"])
                    await self.send(
                        server_event(
                            InputAudioBufferSpeechStartedEvent,
                            audio_start_ms=item.start_ms,
                            item_id=item.id,
                        )
                    )
                elif isinstance(event, SpeechStopped) and event.item_id in items:
                    waiting = items[event.item_id]
                    await self._speech_stopped(waiting, round(offset_ms + event.audio_ms))
                elif isinstance(event, Partial) and event.item_id in items:
                    item = items[event.item_id]
                    if (stream := streams.get(item.id)) is not None:
                        await self._stream(item, stream.hypothesis(event.text))
                elif isinstance(event, Final) and event.item_id in items:
                    item = items[event.item_id]
                    stream = streams.pop(item.id, None)
                    await self._transcribed(item, event.text, event.avg_logprob, stream)
                    if waiting is item:
                        waiting = None
            if waiting is not None:
                await self._transcribed(waiting, "", None, streams.pop(waiting.id, None))
        except Exception:
            await self._engine_failed()

    async def _stream_pump(self, local: EngineSession, streamed: StreamedItem) -> None:
        """The local session's events → deltas of the item the next commit will report.

        No VAD events: turn detection is off. Each final (the local engine's VAD ends one at
        each pause) joins the item's text, which the commit completes.
        """
        try:
            async for event in local.events():
                if isinstance(event, Partial):
                    text = streamed.so_far(event.text)
                    await self._stream(streamed.item, streamed.stream.hypothesis(text))
                elif isinstance(event, Final) and event.text.strip():
                    streamed.finals.append((" ".join(event.text.split()), event.avg_logprob))
                    tokens = streamed.stream.settled(streamed.text)
                    await self._stream(streamed.item, tokens, event.avg_logprob or 0.0)
        except Exception:
            await self._engine_failed()

    async def _engine_failed(self) -> None:
        logger.exception("the local engine failed")
        failure = "The server had an error while transcribing."
        await self.send(ProtocolError(None, failure, None, "server_error").event())

    async def _commit_streamed(self) -> None:
        """A client commit of streamed audio: its item, the rest of its deltas, its transcript."""
        pending_ms = self.audio_ms - self.last_commit_ms
        if pending_ms < MIN_COMMIT_MS:
            raise _commit_empty(pending_ms)
        streamed, self.streamed = self.streamed, None
        if streamed is None:  # buffered audio a session.update dropped: an empty item
            item = Item(new_id("item"), round(self.last_commit_ms))
            streamed = StreamedItem(item, DeltaStream(self.settings["transcription"].get("delay")))
        streamed.item.end_ms = round(self.audio_ms)
        await self._commit_item(streamed.item)
        await self._finish_local()  # its last utterance's final, and the deltas it adds
        text, avg_logprob = streamed.text, streamed.avg_logprob()
        await self._transcribed(streamed.item, text, avg_logprob, streamed.stream)


def _parse(message: str | bytes) -> dict[str, Any]:
    """A client frame → its event object, or the error OpenAI answers it with."""
    if isinstance(message, bytes):
        raise ProtocolError(
            "invalid_event", "Expected a text WebSocket message; binary frames are not supported."
        )
    try:
        event = json.loads(message)
    except ValueError:
        raise ProtocolError(
            "invalid_json", "We could not parse the JSON body of your request."
        ) from None
    if not isinstance(event, dict):
        raise ProtocolError(
            "invalid_event", f"Expected an event object, but got {json_type(event)}."
        )
    return event


def _audio_settings(settings: dict[str, Any]) -> tuple[str, ...]:
    """What a running local session depends on."""
    keys = ("format", "transcription", "noise_reduction", "turn_detection")
    return tuple(json.dumps(settings[key], sort_keys=True) for key in keys)


def _streams(settings: dict[str, Any]) -> bool:
    """Whether uncommitted audio streams (a streaming model, turn detection off)."""
    model = (settings["transcription"] or {}).get("model")
    return settings["turn_detection"] is None and model in STREAMING_MODELS


def _commit_empty(buffered_ms: float) -> ProtocolError:
    return ProtocolError(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least "
        f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
    )
