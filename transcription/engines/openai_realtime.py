"""The OpenAI engine: the GA Realtime transcription protocol, one SDK connection per speaker.

The connection goes to an endpoint of the engine's pool (``OPENAI_REALTIME_ENDPOINT``, one URL
or several): see :mod:`.openai_connection` and :mod:`.endpoint_pool`.
One ``session.update`` of ``type: "transcription"`` configures it, ``input_audio_buffer.append``
events carry 24 kHz PCM16, and the server VAD's events become the engine interface's:

* ``input_audio_buffer.speech_started``/``…stopped`` → :class:`SpeechStarted`/:class:`SpeechStopped`
* ``conversation.item.input_audio_transcription.delta`` → :class:`Partial` (the text so far)
* ``conversation.item.input_audio_transcription.completed`` → :class:`Final`, whose
  ``avg_logprob`` is the mean of the ``logprobs`` the session asks for with ``include``
* ``error`` and ``…transcription.failed`` → :class:`EngineError`

When the socket drops, the session moves to another healthy endpoint of the pool, or, with
none, the SDK reconnects to the same one with backoff (its ``on_reconnecting`` hook tells us it
started). Either way the new connection is a new server session, so we configure it and replay
the audio the server had not finished with: from the start of the oldest utterance not
transcribed yet, or from the last point the server reported on. The replay buffer is bounded
(``REPLAY_SECONDS``). Utterances replayed keep their ids, so no final is lost or given twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import SessionUpdateEventParam
from openai.types.websocket_reconnection import (
    ReconnectingEvent,
    ReconnectingOverrides,
    is_recoverable_close,
)
from websockets.exceptions import ConnectionClosed

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
from .endpoint_pool import Endpoint, EndpointPool, split_endpoints
from .openai_connection import SessionRejected, configure, open_connection, websocket_base_url
from .openai_protocol import (
    BYTES_PER_MS,
    COMMITTED,
    COMPLETED,
    DELTA,
    ERROR,
    FAILED,
    SAMPLE_RATE,
    SESSION_UPDATED,
    SPEECH_STARTED,
    SPEECH_STOPPED,
    describe_error,
    logprob_values,
    mean,
    new_id,
    session_update,
)
from .openai_replay import ReplayBuffer, Utterance

logger = logging.getLogger(__name__)

#: how long close() waits for the finals of speech that was already sent
CLOSE_TIMEOUT = 8.0
#: audio kept for replay after a reconnect (24 kHz PCM16: 2.9 MB per minute)
REPLAY_SECONDS = 60
#: the largest append event; a replay is sent in pieces of this size
APPEND_MAX_BYTES = BYTES_PER_MS * 500
#: an utterance replayed after a reconnect keeps its item id if it starts this close to it
SAME_UTTERANCE_MS = 1000


class OpenAIRealtimeSession(EngineSession):
    """One speaker's transcription session; a supervisor task reads the connection.

    Positions in the audio are absolute byte offsets into everything appended (24 kHz PCM16),
    so they survive reconnects: each new server session's clock starts at ``offset``.
    """

    def __init__(
        self,
        openai: OpenAIConfig,
        update: SessionUpdateEventParam,
        config: SessionConfig,
        pool: EndpointPool,
    ) -> None:
        self.openai = openai
        self.update = update  # sent again to every new server session
        self.config = config
        self.pool = pool
        self.endpoint: Endpoint | None = None  # where the current connection goes
        self.moving = False  # the socket dropped and another endpoint is healthy: go there
        self.buffer = ReplayBuffer(REPLAY_SECONDS * 1000 * BYTES_PER_MS)
        self.client: AsyncOpenAI | None = None
        self.conn: AsyncRealtimeConnection | None = None
        self.connected = False  # configured: audio may be sent (False while reconnecting)
        self.sent = 0  # absolute byte position sent on the current connection
        self.offset = 0  # absolute byte position where the current connection's clock starts
        self.heard = 0  # furthest absolute byte position the server has reported on
        self.items: dict[str, Utterance] = {}  # by the current connection's item ids
        self.lost: list[Utterance] = []  # not transcribed when the previous connection dropped
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
        self.client, self.conn = await self._open_any()
        await self._attach(self.conn)
        self.supervisor = asyncio.create_task(self._run(self.conn))

    async def append(self, pcm16: bytes) -> None:
        if self.closing:
            raise RuntimeError("append() after close()")
        if self.failed or not pcm16:
            return  # the session is over; the caller learnt it from a fatal EngineError
        self.buffer.append(pcm16)
        async with self.send_lock:
            if self.connected and self.conn is not None:
                # a dropped socket is the supervisor's to notice; the replay resends this audio
                with contextlib.suppress(ConnectionClosed):
                    await self._send_audio(self.conn)

    async def commit(self) -> None:
        async with self.send_lock:
            if self.connected and self.conn is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._send_audio(self.conn)
                    if self.connected:  # see _send_audio
                        await self.conn.input_audio_buffer.commit()

    async def clear(self) -> None:
        async with self.send_lock:
            self.buffer.drop_until(self.buffer.end)
            self.sent = max(self.sent, self.buffer.start)
            # speech that was not committed is gone with the buffer
            self.items = {k: v for k, v in self.items.items() if v.committed}
            self.lost = []
            if self.connected and self.conn is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self.conn.input_audio_buffer.clear()

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

    async def _open_any(self, avoid: str | None = None) -> tuple[AsyncOpenAI, Any]:
        """A configured connection at the best endpoint of the pool that takes one."""
        errors: list[Exception] = []
        for endpoint in self.pool.choices(avoid):
            try:
                client, conn = await open_connection(
                    endpoint.url, self.openai, self.update, self._reconnecting
                )
            except SessionRejected as exc:  # the port answers: the endpoint is not down
                errors.append(exc)
                continue
            except EngineUnavailable as exc:
                self.pool.failed(endpoint)
                errors.append(exc)
                continue
            self.pool.succeeded(endpoint)
            self.pool.acquire(endpoint)
            self.endpoint = endpoint
            return client, conn
        raise EngineUnavailable("; ".join(str(error) for error in errors))

    def _reconnecting(self, event: ReconnectingEvent) -> ReconnectingOverrides | None:
        """The SDK's hook, called before each reconnect attempt: stop sending, keep the audio.

        If another endpoint is healthy the SDK gives up on this one and :meth:`_move` goes there.
        """
        if self.connected:
            logger.warning("realtime socket closed (%s); reconnecting", event.close_code)
            self.connected = False
            self.fence = None
            self.lost = sorted(self.items.values(), key=lambda item: item.start_ms)
            self.items = {}
            if self.endpoint is not None:
                self.pool.failed(self.endpoint)
        if self.endpoint is not None and self.pool.has_other_healthy(self.endpoint.url):
            self.moving = True
            return {"abort": True}
        logger.info("reconnect attempt %d of %d", event.attempt, event.max_attempts)
        return None

    async def _move(self, old: AsyncRealtimeConnection) -> AsyncRealtimeConnection:
        """Go on at another endpoint; the audio the old one had not finished is replayed."""
        self.moving = False
        with contextlib.suppress(Exception):
            await old.close()
        if self.client is not None:
            await self.client.close()
        left = self._leave_endpoint()
        logger.warning("moving a realtime session away from %s", left)
        self.client, self.conn = await self._open_any(avoid=left)
        await self._attach(self.conn)
        return self.conn

    def _leave_endpoint(self) -> str | None:
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is None:
            return None
        self.pool.release(endpoint)
        return endpoint.url

    async def _attach(self, conn: AsyncRealtimeConnection) -> None:
        """Use a configured connection: replay the audio the server may not have finished with."""
        async with self.send_lock:
            # the new server session's audio clock starts where the replay does
            self.offset = self.sent = self.heard = self.buffer.start
            self.fence, self.fence_acked = None, False
            self.connected = True
            with contextlib.suppress(ConnectionClosed):
                await self._send_audio(conn)
        if self.closing:
            await self._send_fence()

    async def _run(self, conn: AsyncRealtimeConnection) -> None:
        """Read connections until the session ends for good; one that cannot go on fails."""
        try:
            while True:
                try:
                    await self._listen(conn)
                except Exception:
                    if not self.moving:
                        raise
                if not self.moving:
                    if not self.closing:
                        self._fail("upstream_closed", "OpenAI closed the session")
                    return
                conn = await self._move(conn)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            if is_recoverable_close(code):
                self._fail("upstream_unreachable", f"cannot reconnect to OpenAI: {exc}")
            else:
                self._fail("upstream_closed", f"OpenAI closed the session: {exc.rcvd}")
        except SessionRejected as exc:
            self._fail("upstream_rejected", str(exc))
        except EngineUnavailable as exc:  # no endpoint took the session over
            self._fail("upstream_unreachable", str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here must still end the session visibly
            logger.exception("the realtime session failed")
            self._fail("upstream_error", f"the realtime session failed: {exc}")
        finally:
            self.connected = False
            if self.conn is not None:
                with contextlib.suppress(Exception):
                    await self.conn.close()
            if self.client is not None:
                await self.client.close()
            self._leave_endpoint()
            self.changed.set()

    async def _listen(self, conn: AsyncRealtimeConnection) -> None:
        """Handle events as they come; the SDK's iterator reconnects when the socket drops."""
        while True:
            try:
                async for event in conn:
                    if self.connected:
                        self._handle(event)
                        self.changed.set()
                    else:  # the first event of a new server session, after a reconnect
                        with contextlib.suppress(ConnectionClosed):  # the iterator retries
                            await configure(conn, event, self.update)
                            await self._attach(conn)
                            if self.endpoint is not None:
                                self.pool.succeeded(self.endpoint)
                    # events unread: stop reading, and TCP holds the server back
                    await self.out.room()
                return
            except json.JSONDecodeError as exc:  # a frame that is not JSON ends the iterator
                logger.warning("ignoring a frame that is not JSON: %s", exc)

    async def _send_audio(self, conn: AsyncRealtimeConnection) -> None:
        """Send everything appended since ``sent`` (caller holds ``send_lock``)."""
        self.sent = max(self.sent, self.buffer.start)
        # ``connected`` is checked right before each send, with no await between: once the SDK
        # starts reconnecting (and calls _reconnecting), audio must wait for the replay, or the
        # SDK would queue it for the new server session ahead of its configuration
        while self.connected and self.sent < self.buffer.end:
            chunk = self.buffer.read(self.sent, APPEND_MAX_BYTES)
            await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
            self.sent += len(chunk)

    async def _send_fence(self) -> None:
        """Commit the tail, then re-send the configuration as a fence.

        The server handles client events in order, so its ``session.updated`` reply comes after
        it committed everything before it: from then on the utterances still to be transcribed
        are exactly the ones in ``items``.
        """
        async with self.send_lock:
            conn = self.conn
            if conn is None or not self.connected or self.fence is not None:
                return  # reconnecting: _attach sends it after the replay
            fence = new_id("evt")
            with contextlib.suppress(ConnectionClosed):
                await self._send_audio(conn)
                if self.connected:  # see _send_audio
                    await conn.input_audio_buffer.commit()
                if self.connected:
                    await conn.session.update(session=self.update["session"], event_id=fence)
                    self.fence = fence

    def _settled(self) -> bool:
        return self.fence_acked and not self.items

    def _fail(self, code: str, message: str) -> None:
        logger.warning("realtime session failed: %s", message)
        self.failed = True
        self.out.put_nowait(EngineError(code, message, fatal=True))

    # --- server events -----------------------------------------------------------------

    def _handle(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        item_id = str(getattr(event, "item_id", None) or "")
        if kind == SPEECH_STARTED:
            self._speech_started(item_id, self._ms(getattr(event, "audio_start_ms", None)))
        elif kind == SPEECH_STOPPED:
            item = self._item(item_id)
            item.end_ms = self._ms(getattr(event, "audio_end_ms", None))
            self._heard(item.end_ms)
            self.out.put_nowait(SpeechStopped(item.id, item.end_ms))
            self._trim()
        elif kind == COMMITTED:
            self._committed(item_id)
        elif kind == DELTA:
            self._delta(self._item(item_id), event)
        elif kind == COMPLETED:
            self._completed(item_id, event)
        elif kind == FAILED:
            item = self.items.pop(item_id, None)
            code, message = describe_error(event)
            self.out.put_nowait(EngineError(code, f"{item.id if item else item_id}: {message}"))
            self._trim()
        elif kind == SESSION_UPDATED:
            if self.fence is not None:
                self.fence_acked = True
        elif kind == ERROR:
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
            self.items[item_id] = Utterance(old.id, start_ms, shown=old.shown)
            return
        self.items[item_id] = Utterance(item_id, start_ms)
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

    def _delta(self, item: Utterance, event: Any) -> None:
        item.text += str(getattr(event, "delta", None) or "")
        item.logprobs += logprob_values(getattr(event, "logprobs", None))
        text = item.text.strip()
        if len(text) > item.shown:
            item.shown = len(text)
            self.out.put_nowait(Partial(item.id, text))

    def _completed(self, item_id: str, event: Any) -> None:
        item = self.items.pop(item_id, None) or Utterance(item_id, self.heard // BYTES_PER_MS)
        for other_id in [k for k, v in self.items.items() if v is item]:
            del self.items[other_id]
        text = str(getattr(event, "transcript", None) or "").strip()
        logprobs = logprob_values(getattr(event, "logprobs", None)) or item.logprobs
        if text:
            end_ms = item.end_ms if item.end_ms is not None else item.start_ms
            language = self.config.language
            self.out.put_nowait(
                Final(item.id, text, item.start_ms, end_ms, mean(logprobs), language)
            )
        self._trim()

    def _item(self, item_id: str) -> Utterance:
        if item_id not in self.items:
            self.items[item_id] = Utterance(item_id, self.heard // BYTES_PER_MS)
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
        if not self.connected:
            return
        starts = [item.start_ms * BYTES_PER_MS for item in self.items.values()]
        keep = min(starts) if starts else self.heard
        self.buffer.drop_until(min(keep, self.sent))


class OpenAIRealtimeEngine(RealtimeEngine):
    """Opens transcription sessions at OpenAI, or at any server that speaks its protocol."""

    name = "openai"
    input_sample_rate = SAMPLE_RATE

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        endpoints = split_endpoints(config.realtime_endpoint)
        for endpoint in endpoints:
            websocket_base_url(endpoint)  # a malformed endpoint fails here, not mid-meeting
        self.pool = EndpointPool(endpoints)

    async def open(self, config: SessionConfig) -> EngineSession:
        if not self.config.api_key:
            raise EngineUnavailable("OPENAI_API_KEY is not set")
        model = config.model or self.config.realtime_model
        update = session_update(config, model)
        session = OpenAIRealtimeSession(self.config, update, config, self.pool)
        await session.start()
        return session
