"""The OpenAI engine: the GA Realtime transcription protocol over one WebSocket per speaker.

The socket is opened on ``OPENAI_REALTIME_ENDPOINT`` with ``?intent=transcription`` (and never a
``model`` parameter, which would make it a conversation session), configured with one
``session.update`` of ``type: "transcription"``, then fed ``input_audio_buffer.append`` events
of 24 kHz PCM16. The server's VAD cuts utterances; its events become the engine interface's:

* ``input_audio_buffer.speech_started``/``…stopped`` → :class:`SpeechStarted`/:class:`SpeechStopped`
* ``conversation.item.input_audio_transcription.delta`` → :class:`Partial` (the text so far)
* ``conversation.item.input_audio_transcription.completed`` → :class:`Final`, whose
  ``avg_logprob`` is the mean of the ``logprobs`` the session asks for with ``include``
* ``error`` and ``…transcription.failed`` → :class:`EngineError`

When the socket drops, the session reconnects with backoff and replays the audio the server had
not finished with: from the start of the oldest utterance not transcribed yet, or from the last
point the server reported on. The replay buffer is bounded (``REPLAY_SECONDS``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .base import (
    EngineError,
    EngineSession,
    EngineUnavailable,
    Event,
    EventQueue,
    Final,
    OpenAIConfig,
    Partial,
    RealtimeEngine,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)

logger = logging.getLogger(__name__)

SAMPLE_RATE = 24000  # the only PCM rate the Realtime API accepts
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000
LOGPROBS = "item.input_audio_transcription.logprobs"

CONNECT_TIMEOUT = 10.0
#: how long close() waits for the finals of speech that was already sent
CLOSE_TIMEOUT = 8.0
#: audio kept for replay after a reconnect (24 kHz PCM16: 2.9 MB per minute)
REPLAY_SECONDS = 60
#: the largest append event; a replay is sent in pieces of this size
APPEND_MAX_BYTES = BYTES_PER_MS * 500
#: a session that cannot reconnect for this long gives up
RECONNECT_FOR_SECONDS = 30.0
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 5.0
#: an utterance replayed after a reconnect keeps its item id if it starts this close to it
SAME_UTTERANCE_MS = 1000


def _is_fatal_close(code: int | None) -> bool:
    """Close codes after which reconnecting cannot help.

    OpenAI closes with 3000 for authentication and 4000 for a malformed request; 1001 (the
    session's maximum duration) and abnormal closures (1006) are worth a new session.
    """
    if code is None:
        return False
    return 3000 <= code < 5000 or code in {1002, 1003, 1007, 1008, 1009, 1010}


def realtime_url(endpoint: str) -> str:
    """The endpoint with ``intent=transcription``; a ``model`` parameter would be refused."""
    parts = urlsplit(endpoint)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"intent", "model"}]
    query.append(("intent", "transcription"))
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(query)))


def session_update(config: SessionConfig, model: str) -> dict[str, Any]:
    """The GA ``session.update`` for a transcription session."""
    transcription: dict[str, Any] = {"model": model}
    if config.language:
        transcription["language"] = config.language
    if config.prompt:
        transcription["prompt"] = config.prompt
    noise = {"type": config.noise_reduction} if config.noise_reduction else None
    return {
        "type": "session.update",
        "session": {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                    "noise_reduction": noise,
                    "transcription": transcription,
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": config.vad_threshold,
                        "prefix_padding_ms": config.prefix_padding_ms,
                        "silence_duration_ms": config.silence_ms,
                    },
                }
            },
            "include": [LOGPROBS],
        },
    }


def describe_error(event: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of an ``error`` event, whatever optional fields it lacks."""
    error = event.get("error") or {}
    if not isinstance(error, dict):
        error = {"message": error}
    code = error.get("code") or error.get("type") or "error"
    return str(code), str(error.get("message") or "unknown error")


class SessionRejected(Exception):
    """The server refused the session (key, endpoint or configuration): retrying cannot help."""


class ReplayBuffer:
    """Audio from absolute byte position ``start`` to ``end``, kept for resending."""

    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.start = 0
        self.limit = limit

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def append(self, pcm16: bytes) -> None:
        self.data += pcm16
        if len(self.data) > self.limit:
            self.drop_until(self.end - self.limit)

    def drop_until(self, position: int) -> None:
        # whole milliseconds, so that the server's clock and ours stay in step after a replay
        position = min(position, self.end) // BYTES_PER_MS * BYTES_PER_MS
        if position > self.start:
            del self.data[: position - self.start]
            self.start = position

    def read(self, position: int, size: int) -> bytes:
        offset = position - self.start
        return bytes(self.data[offset : offset + size])


@dataclass
class Item:
    """One utterance the server told us about, on our audio clock (ms since the session opened)."""

    engine_id: str
    start_ms: int
    end_ms: int | None = None
    committed: bool = False
    text: str = ""
    logprobs: list[float] = field(default_factory=list)
    shown: int = 0  # length of the last partial sent: partials only grow


class OpenAIRealtimeSession(EngineSession):
    """One speaker's transcription session; a supervisor task owns the socket.

    Positions in the audio are absolute byte offsets into everything appended (24 kHz PCM16),
    so they survive reconnects: each new server session's clock starts at ``offset``.
    """

    def __init__(self, url: str, api_key: str, update: dict[str, Any], config: SessionConfig):
        self.url = url
        self.api_key = api_key
        self.update = update  # sent again after every reconnect
        self.config = config
        self.buffer = ReplayBuffer(REPLAY_SECONDS * 1000 * BYTES_PER_MS)
        self.ws: ClientConnection | None = None
        self.sent = 0  # absolute byte position sent on the current connection
        self.offset = 0  # absolute byte position where the current connection's clock starts
        self.heard = 0  # furthest absolute byte position the server has reported on
        self.items: dict[str, Item] = {}  # by the current connection's item ids
        self.lost: list[Item] = []  # not transcribed when the previous connection dropped
        self.fence: str | None = None  # event id of close()'s session.update
        self.fence_acked = False
        self.closing = False
        self.failed = False
        self.send_lock = asyncio.Lock()
        self.changed = asyncio.Event()
        self.out = EventQueue()
        self.supervisor: asyncio.Task | None = None

    # --- the interface -----------------------------------------------------------------

    async def start(self) -> None:
        try:
            ws = await self._connect()
        except SessionRejected as exc:
            raise EngineUnavailable(str(exc)) from exc
        except (OSError, TimeoutError) as exc:
            raise EngineUnavailable(f"cannot reach {self.url}: {exc}") from exc
        except Exception as exc:  # websockets' handshake and protocol errors
            raise EngineUnavailable(f"cannot open a session at {self.url}: {exc}") from exc
        await self._attach(ws)
        self.supervisor = asyncio.create_task(self._run(ws))

    async def append(self, pcm16: bytes) -> None:
        if self.closing:
            raise RuntimeError("append() after close()")
        if self.failed or not pcm16:
            return  # the session is over; the caller learnt it from a fatal EngineError
        self.buffer.append(pcm16)
        async with self.send_lock:
            if self.ws is not None:
                # a dropped socket is the supervisor's to notice; the replay resends this audio
                with contextlib.suppress(ConnectionClosed):
                    await self._send_audio(self.ws)

    async def commit(self) -> None:
        async with self.send_lock:
            if self.ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._send_audio(self.ws)
                    await self._send(self.ws, {"type": "input_audio_buffer.commit"})

    async def clear(self) -> None:
        async with self.send_lock:
            self.buffer.drop_until(self.buffer.end)
            self.sent = max(self.sent, self.buffer.start)
            # speech that was not committed is gone with the buffer
            self.items = {k: v for k, v in self.items.items() if v.committed}
            self.lost = []
            if self.ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._send(self.ws, {"type": "input_audio_buffer.clear"})

    async def close(self) -> None:
        """Commit what is left, wait (bounded) for the finals, then end :meth:`events`."""
        if self.closing:
            return
        self.closing = True
        supervisor = self.supervisor
        if supervisor is not None and not supervisor.done() and self.buffer.end > 0:
            await self._send_fence()
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    while not (self._settled() or supervisor.done()):
                        self.changed.clear()
                        await self.changed.wait()
            except TimeoutError:
                logger.warning("closing with %d utterance(s) not transcribed", len(self.items))
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        self.out.put_nowait(None)

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self.out.get()) is not None:
            yield event

    # --- the connection ----------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        """Open a socket and configure it; returns once the server confirmed the session."""
        try:
            ws = await connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self.api_key}"},
                open_timeout=CONNECT_TIMEOUT,
                close_timeout=2,
                max_size=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in {401, 403, 404}:
                raise SessionRejected(f"{self.url} answered HTTP {status}") from exc
            raise
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                event = await self._receive(ws)
                if event.get("type") == "error":
                    code, message = describe_error(event)
                    raise SessionRejected(f"OpenAI refused the session ({code}): {message}")
                update_id = _event_id()
                await self._send(ws, {**self.update, "event_id": update_id})
                while (event := await self._receive(ws)).get("type") != "session.updated":
                    if event.get("type") == "error":
                        code, message = describe_error(event)
                        raise SessionRejected(f"OpenAI refused the settings ({code}): {message}")
        except ConnectionClosed as exc:
            await ws.close()
            code = exc.rcvd.code if exc.rcvd else None
            if _is_fatal_close(code):
                raise SessionRejected(f"OpenAI closed the session: {exc.rcvd}") from exc
            raise
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _run(self, ws: ClientConnection | None) -> None:
        """Own the connection: listen, and reconnect when it drops."""
        try:
            await self._supervise(ws)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here must still end the session visibly
            logger.exception("the realtime session failed")
            self._fail("upstream_error", f"the realtime session failed: {exc}")
        finally:
            if self.ws is not None:
                await self.ws.close()
            self.ws = None
            self.changed.set()

    async def _supervise(self, ws: ClientConnection | None) -> None:
        loop = asyncio.get_running_loop()
        attempts = 0
        failing_since: float | None = None
        while True:
            if ws is not None:
                await self._listen(ws)
                code, reason = ws.close_code, ws.close_reason
                self._detach()
                if _is_fatal_close(code):
                    self._fail("upstream_closed", f"OpenAI closed the session: {code} {reason}")
                    return
                logger.warning("realtime socket closed (%s %s); reconnecting", code, reason)
                ws = None
                attempts = 0
                failing_since = loop.time()
            attempts += 1
            delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempts - 1))
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            try:
                ws = await self._connect()
            except SessionRejected as exc:
                self._fail("upstream_rejected", str(exc))
                return
            except Exception as exc:
                if failing_since is not None and loop.time() - failing_since > (
                    RECONNECT_FOR_SECONDS
                ):
                    self._fail("upstream_unreachable", f"cannot reconnect to OpenAI: {exc}")
                    return
                logger.info("reconnect attempt %d failed: %s", attempts, exc)
                continue
            try:
                await self._attach(ws)
            except BaseException:
                await ws.close()
                raise
            failing_since = None

    async def _attach(self, ws: ClientConnection) -> None:
        """Use a configured socket: replay the audio the server may not have finished with."""
        async with self.send_lock:
            # the new server session's audio clock starts where the replay does
            self.offset = self.sent = self.heard = self.buffer.start
            self.fence, self.fence_acked = None, False
            self.ws = ws
            with contextlib.suppress(ConnectionClosed):
                await self._send_audio(ws)
        if self.closing:
            await self._send_fence()

    def _detach(self) -> None:
        self.ws = None
        self.fence = None
        self.lost = sorted(self.items.values(), key=lambda item: item.start_ms)
        self.items = {}

    async def _listen(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                try:
                    event = json.loads(message)
                except (TypeError, ValueError):
                    logger.warning("ignoring a frame that is not JSON: %.80r", message)
                    continue
                if isinstance(event, dict):
                    self._handle(event)
                    self.changed.set()
                # events unread: stop reading, and TCP holds the server back
                await self.out.room()

    async def _send_audio(self, ws: ClientConnection) -> None:
        """Send everything appended since ``sent`` (caller holds ``send_lock``)."""
        self.sent = max(self.sent, self.buffer.start)
        while self.sent < self.buffer.end:
            chunk = self.buffer.read(self.sent, APPEND_MAX_BYTES)
            await self._send(
                ws,
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()},
            )
            self.sent += len(chunk)

    async def _send_fence(self) -> None:
        """Commit the tail, then re-send the configuration as a fence.

        The server handles client events in order, so its ``session.updated`` reply comes after
        it committed everything before it: from then on the utterances still to be transcribed
        are exactly the ones in ``items``.
        """
        async with self.send_lock:
            ws = self.ws
            if ws is None or self.fence is not None:
                return  # reconnecting: _attach sends it after the replay
            fence = _event_id()
            with contextlib.suppress(ConnectionClosed):
                await self._send_audio(ws)
                await self._send(ws, {"type": "input_audio_buffer.commit"})
                await self._send(ws, {**self.update, "event_id": fence})
                self.fence = fence

    def _settled(self) -> bool:
        return self.fence_acked and not self.items

    def _fail(self, code: str, message: str) -> None:
        logger.warning("realtime session failed: %s", message)
        self.failed = True
        self.out.put_nowait(EngineError(code, message, fatal=True))

    @staticmethod
    async def _send(ws: ClientConnection, event: dict[str, Any]) -> None:
        await ws.send(json.dumps(event))

    @staticmethod
    async def _receive(ws: ClientConnection) -> dict[str, Any]:
        while True:
            try:
                event = json.loads(await ws.recv())
            except (TypeError, ValueError):
                continue
            if isinstance(event, dict):
                return event

    # --- server events -----------------------------------------------------------------

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        item_id = str(event.get("item_id") or "")
        if kind == "input_audio_buffer.speech_started":
            self._speech_started(item_id, self._ms(event.get("audio_start_ms")))
        elif kind == "input_audio_buffer.speech_stopped":
            item = self._item(item_id)
            item.end_ms = self._ms(event.get("audio_end_ms"))
            self._heard(item.end_ms)
            self.out.put_nowait(SpeechStopped(item.engine_id, item.end_ms))
            self._trim()
        elif kind == "input_audio_buffer.committed":
            self._committed(item_id)
        elif kind == "conversation.item.input_audio_transcription.delta":
            item = self._item(item_id)
            item.text += str(event.get("delta") or "")
            item.logprobs += _logprob_values(event.get("logprobs"))
            text = item.text.strip()
            if len(text) > item.shown:
                item.shown = len(text)
                self.out.put_nowait(Partial(item.engine_id, text))
        elif kind == "conversation.item.input_audio_transcription.completed":
            self._completed(item_id, event)
        elif kind == "conversation.item.input_audio_transcription.failed":
            item = self.items.pop(item_id, None)
            code, message = describe_error(event)
            engine_id = item.engine_id if item else item_id
            self.out.put_nowait(EngineError(code, f"{engine_id}: {message}"))
            self._trim()
        elif kind == "session.updated":
            if self.fence is not None:
                self.fence_acked = True
        elif kind == "error":
            code, message = describe_error(event)
            if code == "input_audio_buffer_commit_empty":
                # close() commits the tail, which is often empty: nothing was lost
                logger.debug("empty commit: %s", message)
            else:
                logger.warning("realtime error %s: %s", code, message)
                self.out.put_nowait(EngineError(code, message))

    def _speech_started(self, item_id: str, start_ms: int) -> None:
        self._heard(start_ms)
        # after a reconnect the replayed speech gets new ids from the server; keep ours, so
        # that the partials already shown are finished by this utterance's final
        while self.lost and self.lost[0].end_ms is not None and self.lost[0].end_ms <= start_ms:
            self.lost.pop(0)
        if self.lost and self.lost[0].start_ms <= start_ms + SAME_UTTERANCE_MS:
            old = self.lost.pop(0)
            self.items[item_id] = Item(old.engine_id, start_ms, shown=old.shown)
            return
        self.items[item_id] = Item(item_id, start_ms)
        self.out.put_nowait(SpeechStarted(item_id, start_ms))

    def _committed(self, item_id: str) -> None:
        item = self.items.get(item_id)
        if item is None:
            # a manual commit while the VAD heard speech may get an id of its own
            speaking = [i for i in self.items.values() if i.end_ms is None and not i.committed]
            if speaking:
                item = self.items[item_id] = speaking[0]
            else:
                item = self._item(item_id)
        item.committed = True
        if item.end_ms is None:
            item.end_ms = self.sent // BYTES_PER_MS

    def _completed(self, item_id: str, event: dict[str, Any]) -> None:
        item = self.items.pop(item_id, None) or Item(item_id, self.heard // BYTES_PER_MS)
        for other_id in [k for k, v in self.items.items() if v is item]:
            del self.items[other_id]
        text = str(event.get("transcript") or "").strip()
        logprobs = _logprob_values(event.get("logprobs")) or item.logprobs
        avg_logprob = sum(logprobs) / len(logprobs) if logprobs else None
        if text:
            end_ms = item.end_ms if item.end_ms is not None else item.start_ms
            language = self.config.language
            self.out.put_nowait(
                Final(item.engine_id, text, item.start_ms, end_ms, avg_logprob, language)
            )
        self._trim()

    def _item(self, item_id: str) -> Item:
        if item_id not in self.items:
            self.items[item_id] = Item(item_id, self.heard // BYTES_PER_MS)
        return self.items[item_id]

    def _ms(self, server_ms: Any) -> int:
        """A server clock reading → our clock (the server's restarts with every connection)."""
        try:
            value = int(server_ms)
        except (TypeError, ValueError):
            value = (self.heard - self.offset) // BYTES_PER_MS
        return value + self.offset // BYTES_PER_MS

    def _heard(self, ms: int) -> None:
        self.heard = max(self.heard, ms * BYTES_PER_MS)

    def _trim(self) -> None:
        """Forget audio the server is done with: what precedes every pending utterance."""
        if self.ws is None:
            return
        starts = [item.start_ms * BYTES_PER_MS for item in self.items.values()]
        keep = min(starts) if starts else self.heard
        self.buffer.drop_until(min(keep, self.sent))


class OpenAIRealtimeEngine(RealtimeEngine):
    name = "openai"
    input_sample_rate = SAMPLE_RATE

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config

    async def open(self, config: SessionConfig) -> EngineSession:
        api_key = self.config.api_key
        if not api_key:
            raise EngineUnavailable("OPENAI_API_KEY is not set")
        model = config.model or self.config.realtime_model
        session = OpenAIRealtimeSession(
            realtime_url(self.config.realtime_endpoint),
            api_key,
            session_update(config, model),
            config,
        )
        await session.start()
        return session


def _logprob_values(logprobs: Any) -> list[float]:
    if not isinstance(logprobs, list):
        return []
    values = []
    for entry in logprobs:
        if isinstance(entry, dict) and isinstance(entry.get("logprob"), int | float):
            values.append(float(entry["logprob"]))
    return values


def _event_id() -> str:
    return "evt_" + secrets.token_hex(11)
