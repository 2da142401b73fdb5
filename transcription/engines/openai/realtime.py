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

With a streaming model (``gpt-realtime-whisper``, ``gpt-live-transcribe``) there is no server
VAD: deltas come while speech goes on, and the engine ends each utterance itself, with a commit,
when its own VAD (:mod:`.openai_turns`) hears the speaker pause. :class:`SpeechStarted` goes out
when that VAD hears speech start, or when the first delta of an utterance it did not hear comes,
whichever is first; :class:`SpeechStopped` at the commit. The server events are read in
:mod:`.openai_events`.

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

from ..base import (
    EngineError,
    EngineSession,
    EngineUnavailable,
    Event,
    EventQueue,
    Languages,
    OpenAIConfig,
    RealtimeEngine,
    SessionConfig,
    SpeechStopped,
    whisper_languages,
)
from .connection import SessionRejected, configure, open_connection, websocket_base_url
from .endpoint_pool import Endpoint, EndpointPool, split_endpoints
from .events import ServerEvents
from .protocol import (
    BYTES_PER_MS,
    MIN_COMMIT_MS,
    SAMPLE_RATE,
    STREAMING_MODELS,
    new_id,
    session_update,
)
from .replay import ReplayBuffer, Utterance
from .turns import TurnDetector

logger = logging.getLogger(__name__)

#: how long close() waits for the finals of speech that was already sent
CLOSE_TIMEOUT = 8.0
#: audio kept for replay after a reconnect (24 kHz PCM16: 2.9 MB per minute)
REPLAY_SECONDS = 60
#: the largest append event; a replay is sent in pieces of this size
APPEND_MAX_BYTES = BYTES_PER_MS * 500
#: an utterance only the model heard (deltas, no speech for our VAD) ends when none came for
#: this long, or for the session's ``silence_ms`` if that is longer
DELTA_QUIET_MS = 1000


class OpenAIRealtimeSession(ServerEvents, EngineSession):
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
        streaming: bool = False,
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
        # a streaming model: our VAD ends utterances, each one a commit at a position ("mark")
        self.streaming = streaming
        self.turns = TurnDetector(config.vad_threshold, config.silence_ms) if streaming else None
        self.current: Utterance | None = None  # being spoken, not committed
        self.marks: list[Utterance] = []  # ended, their commit not sent on this connection
        self.awaiting: list[Utterance] = []  # commit sent, its ``committed`` not in yet
        self.last_commit = 0  # absolute byte position of our latest commit
        self.commit_sent = 0  # ... of the latest commit sent on the current connection
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
            if self.turns is not None:
                # before sending, so that a commit goes out right after the audio it ends
                self._follow_turns(pcm16)
            if self.connected and self.conn is not None:
                # a dropped socket is the supervisor's to notice; the replay resends this audio
                with contextlib.suppress(ConnectionClosed):
                    await self._send_audio(self.conn)
            if self.turns is not None:
                self._trim()

    async def commit(self) -> None:
        async with self.send_lock:
            if self.turns is not None:
                if self.current is not None:
                    self._end_turn()
                self.turns.reset()
                if self.connected and self.conn is not None:
                    with contextlib.suppress(ConnectionClosed):
                        await self._send_audio(self.conn)
                return
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
            self.current, self.marks, self.last_commit = None, [], self.buffer.end
            if self.turns is not None:
                self.turns.reset()
            if self.connected and self.conn is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self.conn.input_audio_buffer.clear()

    async def close(self) -> None:
        """Commit what is left, wait (bounded) for the finals, then end :meth:`events`."""
        if self.closing:
            return
        self.closing = True
        if self.current is not None:  # the utterance in progress is committed with the tail
            async with self.send_lock:
                self._end_turn()
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
            if self.streaming:
                self._recommit_later()
            else:
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
            self.offset = self.sent = self.heard = self.commit_sent = self.buffer.start
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
        """Send everything appended since ``sent``, and the commits due in it (caller holds
        ``send_lock``).
        """
        self.sent = max(self.sent, self.buffer.start)
        # ``connected`` is checked right before each send, with no await between: once the SDK
        # starts reconnecting (and calls _reconnecting), audio must wait for the replay, or the
        # SDK would queue it for the new server session ahead of its configuration
        while self.connected:
            if self.marks and self.marks[0].commit_at <= self.sent:
                await self._send_commit(conn, self.marks.pop(0))
                continue
            if self.sent >= self.buffer.end:
                return
            stop = self.marks[0].commit_at if self.marks else self.buffer.end
            chunk = self.buffer.read(self.sent, min(APPEND_MAX_BYTES, stop - self.sent))
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
                await self._send_audio(conn)  # with a streaming model, close() ended the turn
                if self.connected and not self.streaming:  # see _send_audio
                    await conn.input_audio_buffer.commit()
                if self.connected:
                    await conn.session.update(session=self.update["session"], event_id=fence)
                    self.fence = fence

    def _settled(self) -> bool:
        return self.fence_acked and not (self.items or self.marks or self.awaiting)

    def _fail(self, code: str, message: str) -> None:
        logger.warning("realtime session failed: %s", message)
        self.failed = True
        self.out.put_nowait(EngineError(code, message, fatal=True))

    # --- streaming models: our own turns ------------------------------------------------

    def _follow_turns(self, pcm16: bytes) -> None:
        """Run our VAD over new audio: start utterances, and end them with a commit mark."""
        assert self.turns is not None
        for turn in self.turns.feed(pcm16):
            if turn.kind == "start":
                if self.current is None:  # else a delta started it already
                    padding = self.config.prefix_padding_ms
                    self._start_turn(max(self.last_commit // BYTES_PER_MS, turn.ms - padding))
                continue
            if self.current is not None:
                self._end_turn()
            if turn.kind == "cut":  # no pause: the speech after the commit goes on
                self._start_turn(self.last_commit // BYTES_PER_MS)
        current = self.current
        if current is not None and not self.turns.speaking:
            # only the model heard this one: it ends when its deltas stop coming
            quiet = self.buffer.end - max(current.heard_at, current.start_ms * BYTES_PER_MS)
            if quiet >= max(self.config.silence_ms, DELTA_QUIET_MS) * BYTES_PER_MS:
                self._end_turn()

    def _end_turn(self) -> None:
        """End the utterance being spoken here: a commit after the audio appended so far."""
        item, self.current = self.current, None
        assert item is not None
        item.commit_at = self.last_commit = self.buffer.end
        item.end_ms = item.commit_at // BYTES_PER_MS
        self.marks.append(item)
        self.out.put_nowait(SpeechStopped(item.id, item.end_ms))

    async def _send_commit(self, conn: AsyncRealtimeConnection, item: Utterance) -> None:
        if item.commit_at - self.commit_sent < MIN_COMMIT_MS * BYTES_PER_MS:
            # the server would refuse it: its audio goes with the next commit
            logger.info("an utterance too short to commit on its own")
            return
        self.awaiting.append(item)  # before the send: a reconnect must find it
        self.commit_sent = item.commit_at
        await conn.input_audio_buffer.commit()

    def _recommit_later(self) -> None:
        """The socket dropped: every utterance not transcribed yet is committed again, at the
        same place, on the next connection (the replay starts before the oldest of them).
        """
        committed = [u for u in self.items.values() if u.committed]
        pending = {id(u): u for u in [*committed, *self.awaiting, *self.marks]}
        self.marks = sorted(pending.values(), key=lambda u: u.commit_at)
        self.awaiting = []
        for item in [*self.marks, *([self.current] if self.current else [])]:
            item.forget_server()
            item.committed = False


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
        streaming = model in STREAMING_MODELS
        if streaming and config.prompt:
            logger.info("the meeting's glossary is not used: %s takes no prompt", model)
        update = session_update(config, model, delay=self.config.realtime_delay)
        session = OpenAIRealtimeSession(self.config, update, config, self.pool, streaming)
        await session.start()
        return session

    def languages(self) -> Languages:
        # OpenAI's transcription models are multilingual Whisper descendants. (The project's
        # speech server behind this engine answers with its own model, whatever this says.)
        return whisper_languages(multilingual=True)
