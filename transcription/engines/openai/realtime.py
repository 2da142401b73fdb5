"""The OpenAI engine: the GA Realtime transcription protocol, one SDK connection per speaker.

The connection goes to an endpoint of the engine's pool (``OPENAI_REALTIME_ENDPOINT``, one URL
or several): see :mod:`.connection` and :mod:`.endpoint_pool`.
One ``session.update`` of ``type: "transcription"`` configures it, ``input_audio_buffer.append``
events carry 24 kHz PCM16, and the server VAD's events become the engine interface's:

* ``input_audio_buffer.speech_started``/``…stopped`` → :class:`SpeechStarted`/:class:`SpeechStopped`
* ``conversation.item.input_audio_transcription.delta`` → :class:`Partial` (the text so far)
* ``conversation.item.input_audio_transcription.completed`` → :class:`Final`, whose
  ``avg_logprob`` is the mean of the ``logprobs`` the session asks for with ``include``
* ``error`` and ``…transcription.failed`` → :class:`EngineError`

With a streaming model (``gpt-realtime-whisper``, ``gpt-live-transcribe``) there is no server
VAD: deltas come while speech goes on, and the engine ends each utterance itself, with a commit,
when its own VAD (:mod:`.turns`) hears the speaker pause. :class:`SpeechStarted` goes out
when that VAD hears speech start, or when the first delta of an utterance it did not hear comes,
whichever is first; :class:`SpeechStopped` at the commit. The server events are read in
:mod:`.events`.

When the socket drops, the session moves to another healthy endpoint of the pool, or, with
none, the SDK reconnects to the same one with backoff (its ``on_reconnecting`` hook tells us it
started). Either way the new connection is a new server session, so we configure it and replay
the audio the server had not finished with: from the start of the oldest utterance not
transcribed yet, or from the last point the server reported on. The replay buffer is bounded
(``REPLAY_SECONDS``). Utterances replayed keep their ids, so no final is lost or given twice.

The session's state is in named parts (:mod:`.state`) that it hands to its collaborators: the
:class:`~.connection.Link` (the connection's :class:`~.state.LinkState`, its endpoint), the
:class:`~.state.ServerSession` (the current server session's clock and close()'s fence) and
the :class:`~.state.Utterances` in flight, read and changed by :class:`~.events.ServerEvents`
(the server's events) and :class:`~.turns.StreamingTurns` (a streaming model's turns).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator

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
    whisper_languages,
)
from .connection import Link, SessionRejected, configure, websocket_base_url
from .endpoint_pool import EndpointPool, split_endpoints
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
from .state import LinkState, ServerSession, Utterances
from .turns import StreamingTurns

logger = logging.getLogger(__name__)

#: how long close() waits for the finals of speech that was already sent
CLOSE_TIMEOUT = 8.0
#: audio kept for replay after a reconnect (24 kHz PCM16: 2.9 MB per minute)
REPLAY_SECONDS = 60
#: the largest append event; a replay is sent in pieces of this size
APPEND_MAX_BYTES = BYTES_PER_MS * 500


class OpenAIRealtimeSession(EngineSession):
    """One speaker's transcription session; a supervisor task reads the connection.

    Positions in the audio are absolute byte offsets into everything appended (24 kHz PCM16),
    so they survive reconnects: each new server session's clock starts at ``server.offset``.
    ``closing`` and ``failed`` are the caller's side: close() was called; a fatal
    :class:`EngineError` went out, and audio is no longer sent.
    """

    def __init__(
        self,
        openai: OpenAIConfig,
        update: SessionUpdateEventParam,
        config: SessionConfig,
        pool: EndpointPool,
        streaming: bool = False,
    ) -> None:
        self.update = update  # sent again to every new server session
        self.streaming = streaming
        self.buffer = ReplayBuffer(REPLAY_SECONDS * 1000 * BYTES_PER_MS)
        self.out = EventQueue()
        self.link = Link(pool, openai, update, self._reconnecting)
        self.server = ServerSession()
        self.utterances = Utterances()
        # a streaming model: our VAD ends utterances, each one a commit at a position ("mark")
        self.turns: StreamingTurns | None = None
        if streaming:
            self.turns = StreamingTurns(config, self.utterances, self.buffer, self.out)
        self.reader = ServerEvents(
            config, self.link, self.server, self.utterances, self.buffer, self.out, self.turns
        )
        self.closing = False
        self.failed = False
        self.send_lock = asyncio.Lock()
        self.changed = asyncio.Event()
        self.supervisor: asyncio.Task | None = None

    # --- the interface -----------------------------------------------------------------

    async def start(self) -> None:
        conn = await self.link.open()
        await self._attach(conn)
        self.supervisor = asyncio.create_task(self._run(conn))

    async def append(self, pcm16: bytes) -> None:
        if self.closing:
            raise RuntimeError("append() after close()")
        if self.failed or not pcm16:
            return  # the session is over; the caller learnt it from a fatal EngineError
        self.buffer.append(pcm16)
        async with self.send_lock:
            if self.turns is not None:
                # before sending, so that a commit goes out right after the audio it ends
                self.turns.follow(pcm16)
            await self._send_if_connected()
            if self.turns is not None:
                self.reader.trim()

    async def commit(self) -> None:
        async with self.send_lock:
            if self.turns is not None:
                if self.utterances.current is not None:
                    self.turns.end()
                self.turns.reset()
                await self._send_if_connected()
                return
            conn = self.link.conn
            if self.link.connected and conn is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._send_audio(conn)
                    if self.link.connected:  # see _send_audio
                        await conn.input_audio_buffer.commit()

    async def clear(self) -> None:
        async with self.send_lock:
            self.buffer.drop_until(self.buffer.end)
            self.server.sent = max(self.server.sent, self.buffer.start)
            self.utterances.clear(self.buffer.end)
            if self.turns is not None:
                self.turns.reset()
            conn = self.link.conn
            if self.link.connected and conn is not None:
                with contextlib.suppress(ConnectionClosed):
                    await conn.input_audio_buffer.clear()

    async def close(self) -> None:
        """Commit what is left, wait (bounded) for the finals, then end :meth:`events`."""
        if self.closing:
            return
        self.closing = True
        if self.turns is not None and self.utterances.current is not None:
            # the utterance in progress is committed with the tail
            async with self.send_lock:
                self.turns.end()
        supervisor = self.supervisor
        if supervisor is not None and not supervisor.done() and self.buffer.end > 0:
            await self._send_fence()
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    while not (self._settled() or supervisor.done()):
                        self.changed.clear()
                        await self.changed.wait()
            except TimeoutError:
                waiting = len(self.utterances.items)
                logger.warning("closing with %d utterance(s) not transcribed", waiting)
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        self.out.put_nowait(None)

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self.out.get()) is not None:
            yield event

    # --- the connection ----------------------------------------------------------------

    def _reconnecting(self, event: ReconnectingEvent) -> ReconnectingOverrides | None:
        """The SDK's hook, called before each reconnect attempt: stop sending, keep the audio.

        If another endpoint is healthy the SDK gives up on this one and :meth:`_move` goes there.
        """
        if self.link.connected:
            logger.warning("realtime socket closed (%s); reconnecting", event.close_code)
            self.link.dropped()
            self.server.fence = None
            self.utterances.dropped(self.streaming)
        if self.link.should_move():
            return {"abort": True}
        logger.info("reconnect attempt %d of %d", event.attempt, event.max_attempts)
        return None

    async def _move(self) -> AsyncRealtimeConnection:
        """Go on at another endpoint; the audio the old one had not finished is replayed."""
        self.link.move_to(LinkState.CONNECTING)
        await self.link.close()
        left = self.link.leave()
        logger.warning("moving a realtime session away from %s", left)
        conn = await self.link.open(avoid=left)
        await self._attach(conn)
        return conn

    async def _attach(self, conn: AsyncRealtimeConnection) -> None:
        """Use a configured connection: replay the audio the server may not have finished with."""
        async with self.send_lock:
            # the new server session's audio clock starts where the replay does
            self.server.restart(self.buffer.start)
            self.link.move_to(LinkState.CONNECTED)
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
                    if self.link.state is not LinkState.MOVING:
                        raise
                if self.link.state is not LinkState.MOVING:
                    if not self.closing:
                        self._fail("upstream_closed", "OpenAI closed the session")
                    return
                conn = await self._move()
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
            self.link.move_to(LinkState.CLOSED)
            await self.link.close()
            self.link.leave()
            self.changed.set()

    async def _listen(self, conn: AsyncRealtimeConnection) -> None:
        """Handle events as they come; the SDK's iterator reconnects when the socket drops."""
        while True:
            try:
                async for event in conn:
                    if self.link.connected:
                        self.reader.handle(event)
                        self.changed.set()
                    else:  # the first event of a new server session, after a reconnect
                        with contextlib.suppress(ConnectionClosed):  # the iterator retries
                            await configure(conn, event, self.update)
                            await self._attach(conn)
                            self.link.reconnected()
                    # events unread: stop reading, and TCP holds the server back
                    await self.out.room()
                return
            except json.JSONDecodeError as exc:  # a frame that is not JSON ends the iterator
                logger.warning("ignoring a frame that is not JSON: %s", exc)

    # --- sending -----------------------------------------------------------------------

    async def _send_if_connected(self) -> None:
        """Send what is due, if connected (caller holds ``send_lock``)."""
        conn = self.link.conn
        if self.link.connected and conn is not None:
            # a dropped socket is the supervisor's to notice; the replay resends this audio
            with contextlib.suppress(ConnectionClosed):
                await self._send_audio(conn)

    async def _send_audio(self, conn: AsyncRealtimeConnection) -> None:
        """Send everything appended since ``server.sent``, and the commits due in it (caller
        holds ``send_lock``).
        """
        server = self.server
        server.sent = max(server.sent, self.buffer.start)
        # the link's state is checked right before each send, with no await between: once the
        # SDK starts reconnecting (and calls _reconnecting), audio must wait for the replay, or
        # the SDK would queue it for the new server session ahead of its configuration
        while self.link.connected:
            marks = self.utterances.marks  # a reconnect may have replaced the list
            if marks and marks[0].commit_at <= server.sent:
                await self._send_commit(conn, marks.pop(0))
                continue
            if server.sent >= self.buffer.end:
                return
            stop = marks[0].commit_at if marks else self.buffer.end
            chunk = self.buffer.read(server.sent, min(APPEND_MAX_BYTES, stop - server.sent))
            await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
            server.sent += len(chunk)

    async def _send_commit(self, conn: AsyncRealtimeConnection, item: Utterance) -> None:
        if item.commit_at - self.server.commit_sent < MIN_COMMIT_MS * BYTES_PER_MS:
            # the server would refuse it: its audio goes with the next commit
            logger.info("an utterance too short to commit on its own")
            return
        self.utterances.awaiting.append(item)  # before the send: a reconnect must find it
        self.server.commit_sent = item.commit_at
        await conn.input_audio_buffer.commit()

    async def _send_fence(self) -> None:
        """Commit the tail, then re-send the configuration as a fence.

        The server handles client events in order, so its ``session.updated`` reply comes after
        it committed everything before it: from then on the utterances still to be transcribed
        are exactly the ones in flight.
        """
        async with self.send_lock:
            conn = self.link.conn
            if conn is None or not self.link.connected or self.server.fence is not None:
                return  # reconnecting: _attach sends it after the replay
            fence = new_id("evt")
            with contextlib.suppress(ConnectionClosed):
                await self._send_audio(conn)  # with a streaming model, close() ended the turn
                if self.link.connected and not self.streaming:  # see _send_audio
                    await conn.input_audio_buffer.commit()
                if self.link.connected:
                    await conn.session.update(session=self.update["session"], event_id=fence)
                    self.server.fence = fence

    def _settled(self) -> bool:
        return self.server.fence_acked and not self.utterances.in_flight()

    def _fail(self, code: str, message: str) -> None:
        logger.warning("realtime session failed: %s", message)
        self.failed = True
        self.out.put_nowait(EngineError(code, message, fatal=True))


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
