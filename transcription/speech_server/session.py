"""One realtime transcription session, run the way OpenAI's server runs it.

With server VAD, audio flows into one local engine session whose speech events become VAD
events and commits, and whose finals become the transcription. A client commit ends that local
session (finishing the speech in it) and a new one takes the next audio: the local engine
reports when a session is done, not when one utterance found no words. Without turn detection,
audio collects until a commit, then goes through a session of its own. Client events are
handled one at a time, in order, as OpenAI does. Every event sent is built through the SDK's
model of it (:func:`~transcription.engines.openai_protocol.server_event`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import time
from typing import Any

from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from ..audio import WHISPER_SAMPLE_RATE, StreamResampler
from ..engines.base import EngineSession, Final, RealtimeEngine, SpeechStarted, SpeechStopped
from ..engines.openai_protocol import (
    APPEND,
    CLEAR,
    CLIENT_EVENTS,
    COMMIT,
    DEFAULT_MODEL,
    LOGPROBS,
    MAX_APPEND_BYTES,
    MIN_COMMIT_MS,
    SESSION_UPDATE,
    Item,
    ProtocolError,
    new_id,
    server_event,
    token_logprob,
    usage,
)
from ..engines.openai_schema import (
    apply_session_update,
    choice,
    default_settings,
    expect,
    json_type,
    known_keys,
    session_object,
)
from .audio import InputDecoder, local_config, transcribe_buffer

logger = logging.getLogger(__name__)


class TranscriptionSession:
    """One WebSocket's transcription session; see the module docstring."""

    def __init__(self, ws: ServerConnection, engine: RealtimeEngine, max_seconds: float) -> None:
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

    async def run(self) -> None:
        await self.send(server_event(SessionCreatedEvent, session=self.session_object()))
        try:
            async for message in self.ws:
                await self.receive(message)
        except ConnectionClosed:
            pass
        finally:
            await self._abandon_local()

    async def send(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(event))

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
        if settings["turn_detection"] is not None:
            self.manual = []  # audio only collects while commits are the client's
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
        if self.settings["turn_detection"] is None:
            self.manual.append((pcm16, rate))
        else:
            await self._feed_local(pcm16, rate)
        self.audio_ms += len(pcm16) / 2 / rate * 1000

    async def on_commit(self, event: dict[str, Any]) -> None:
        known_keys(event, {"type", "event_id"}, None)
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
            self.local = await self.engine.open(local_config(self.settings))
            self.local_offset_ms = self.audio_ms
            self.resampler = StreamResampler(rate, WHISPER_SAMPLE_RATE)
            self.pump = asyncio.create_task(self._pump(self.local, self.local_offset_ms))
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
        """The client left: stop without transcribing what was in progress."""
        local, pump = self.local, self.pump
        self.local = self.pump = None
        if pump is not None:
            pump.cancel()
        if local is not None:
            await local.clear()
            await local.close()

    async def _pump(self, local: EngineSession, offset_ms: float) -> None:
        """The local session's events → VAD events, commits and transcriptions."""
        items: dict[str, Item] = {}
        waiting: Item | None = None  # committed, its transcript not in yet
        try:
            async for event in local.events():
                if isinstance(event, SpeechStarted):
                    if waiting is not None:
                        # the local engine finishes one utterance before the next starts:
                        # the last one had no words
                        await self._transcribed(waiting, "", None)
                        waiting = None
                    start = round(offset_ms + event.audio_ms)
                    items[event.item_id] = item = Item(new_id("item"), start, start)
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
                elif isinstance(event, Final) and event.item_id in items:
                    await self._transcribed(items[event.item_id], event.text, event.avg_logprob)
                    if waiting is items[event.item_id]:
                        waiting = None
            if waiting is not None:
                await self._transcribed(waiting, "", None)
        except Exception:
            logger.exception("the local engine failed")
            failure = "The server had an error while transcribing."
            await self.send(ProtocolError(None, failure, None, "server_error").event())

    # --- server events -----------------------------------------------------------------

    async def _speech_stopped(self, item: Item, end_ms: int) -> None:
        item.end_ms = end_ms
        await self.send(
            server_event(InputAudioBufferSpeechStoppedEvent, audio_end_ms=end_ms, item_id=item.id)
        )
        await self._commit_item(item)

    async def _commit_item(self, item: Item) -> None:
        previous, self.previous_item_id = self.previous_item_id, item.id
        self.last_commit_ms = item.end_ms or item.start_ms
        self.commits += 1
        item.committed = True
        await self.send(
            server_event(InputAudioBufferCommittedEvent, previous_item_id=previous, item_id=item.id)
        )
        message = {
            "id": item.id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        for model in (ConversationItemAdded, ConversationItemDone):
            await self.send(server_event(model, previous_item_id=previous, item=message))

    async def _transcribed(self, item: Item, text: str, avg_logprob: float | None) -> None:
        """The item's deltas (one per word; whisper-1: one in all), then its transcript."""
        if item.done:
            logger.warning("a second transcript for %s was dropped", item.id)
            return
        item.done = True
        transcription = self.settings["transcription"]
        if transcription is None:
            return  # nothing asked for a transcript
        model = transcription.get("model") or DEFAULT_MODEL
        include = LOGPROBS in (self.settings["include"] or [])
        text = text.strip()
        tokens = ([text] if model == "whisper-1" else re.findall(r"\s*\S+", text)) if text else []
        logprobs = [token_logprob(token, avg_logprob or 0.0) for token in tokens]
        for token, logprob in zip(tokens, logprobs, strict=True):
            extra = {"logprobs": [logprob]} if include else {}
            delta = server_event(
                ConversationItemInputAudioTranscriptionDeltaEvent,
                item_id=item.id,
                content_index=0,
                delta=token,
                **extra,
            )
            await self.send(delta)
        seconds = ((item.end_ms or item.start_ms) - item.start_ms) / 1000
        completed = server_event(
            ConversationItemInputAudioTranscriptionCompletedEvent,
            item_id=item.id,
            content_index=0,
            transcript=text,
            usage=usage(model, seconds, len(tokens)),
            **({"logprobs": logprobs} if include else {}),
        )
        await self.send(completed)


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


def _commit_empty(buffered_ms: float) -> ProtocolError:
    return ProtocolError(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least "
        f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
    )
