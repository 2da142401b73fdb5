"""One speaker's upstream session: audio on its way to the engine, captions on their way back.

A :class:`SpeakerSession` belongs to one connection. It resamples and records the audio, feeds
the engine, and turns the engine's events into protocol events: partials and speech events go
to the room as they come; each final is stored (and broadcast by the action that stores it).
No failure of one event ends the session: a final that cannot be stored is tried again, then
reported to the speaker, and the next utterance is captioned as usual. Finals are stored by a
task of their own, one after the other: while one waits for the database, the speaker's
partials still reach the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError

from config import channel_layer, log_context
from meetings import actions, events, queries
from meetings.models import Meeting, Recording, Segment, User

from .. import metrics
from ..audio import StreamResampler
from ..engine_factory import realtime_engine
from ..engines.base import (
    EngineError,
    EngineSession,
    Event,
    Final,
    Partial,
    RealtimeEngine,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)
from .recording import RecordingWriter

logger = logging.getLogger(__name__)

#: waits before each further attempt to store a final while PostgreSQL or Redis is away: a
#: restart or a failover takes seconds, so they double from 0.5 s to 5 s, about 30 s in all
STORE_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0)
#: waits when the database answered and refused the row: it will most likely refuse it again,
#: and the speaker's next finals wait behind this one
REFUSED_RETRY_DELAYS = (0.5, 2.0)
#: what says a server is out of reach (down, restarting, the connection cut), not refusing
UNREACHABLE = (OperationalError, InterfaceError, *channel_layer.UNREACHABLE)
_LANGUAGE = re.compile(r"[a-z]{2,3}")


class Audience(Protocol):
    """Who hears a speaker: the room, or the speaker alone. The consumer is one."""

    async def deliver(self, event: Any) -> None:
        """An event that is not stored (a partial, speech started or stopped)."""

    def store_final(self, meeting: Meeting, speaker: User, **fields: Any) -> Segment:
        """Store a final, and broadcast it if everyone hears it (sync: a worker thread)."""

    async def final_stored(self, segment: Segment) -> None:
        """After a final is stored: tell whoever store_final did not."""

    async def tell_speaker(self, event: Any) -> None:
        """An event for the speaker alone (errors)."""


class SpeakerSession:
    """Open with :meth:`open`; then :meth:`feed`, :meth:`commit`, :meth:`clear`; end with
    :meth:`finish` (the last finals are delivered) or :meth:`abort` (they are dropped)."""

    def __init__(
        self,
        meeting: Meeting,
        user: User,
        engine: RealtimeEngine,
        session: EngineSession,
        sample_rate: int,
        audience: Audience,
    ) -> None:
        self.meeting = meeting
        self.user = user
        self.engine_name = engine.name
        self.engine_session = session
        self.resampler = StreamResampler(sample_rate, engine.input_sample_rate)
        self.writer: RecordingWriter | None = RecordingWriter(
            meeting.slug, engine.input_sample_rate
        )
        self.audience = audience
        self.language = ""  # the session's, for engines that do not say
        # engine ids are unique per upstream session; the room needs them unique per meeting
        self.key = secrets.token_hex(4)
        self.offset_ms = 0
        #: finals of the audio before this (engine clock) may be stored by another session too:
        #: the backlog a page sent again, or everything once the connection was lost
        self.shared_until_ms: float = 0
        self.recording: Recording | None = None
        self.events_task: asyncio.Task | None = None
        # Unbounded, but a speaker ends at most a few utterances in the ~30 s a store may take.
        self.finals: asyncio.Queue[Final | None] = asyncio.Queue()
        self.store_task: asyncio.Task | None = None
        #: finals heard from the engine and neither stored nor reported lost yet
        self.unstored = 0
        self.ending = False
        #: the engine's events ended before we asked: this session takes no more audio
        self.failed = False
        #: when the engine said each utterance's speech stopped (for the latency metric)
        self.stopped_at: dict[str, float] = {}

    @classmethod
    async def open(
        cls,
        meeting: Meeting,
        user: User,
        config: SessionConfig,
        sample_rate: int,
        audience: Audience,
        backlog_ms: int = 0,
    ) -> SpeakerSession:
        """Raises EngineUnavailable (or anything the engine raises) when it cannot start.

        ``backlog_ms``: the audio begins with that much captured before now (see
        :class:`~.messages.SessionStart`).
        """
        engine = realtime_engine(settings.TRANSCRIPTION_ENGINE)
        session = await engine.open(config)
        speaker = cls(meeting, user, engine, session, sample_rate, audience)
        # this connection's log lines from now on, and those of the task started below
        log_context.session.set(speaker.key)
        speaker.language = config.language or ""
        now_ms = await database_sync_to_async(actions.do_start_clock)(meeting)
        speaker.offset_ms = max(0, now_ms - backlog_ms)
        speaker.shared_until_ms = backlog_ms
        speaker.recording = await database_sync_to_async(actions.do_start_recording)(
            meeting,
            user,
            file_name=speaker.writer.relative_name,
            sample_rate=speaker.writer.sample_rate,
            offset_ms=speaker.offset_ms,
        )
        speaker.store_task = asyncio.create_task(speaker._store_finals())
        speaker.events_task = asyncio.create_task(speaker._forward_events())
        return speaker

    async def feed(self, pcm16: bytes) -> None:
        samples = self.resampler.process(pcm16)
        if samples:
            await self.engine_session.append(samples)
            await self.writer.write(samples)

    async def commit(self) -> None:
        await self.engine_session.commit()

    async def clear(self) -> None:
        await self.engine_session.clear()

    def connection_lost(self) -> None:
        """The page's connection broke: it will send this speech again to whichever process it
        reaches next, which may store it first; from now on a final already stored is not."""
        self.shared_until_ms = float("inf")

    async def finish(self) -> None:
        """Flush: the remaining finals are stored and delivered before this returns."""
        self.ending = True
        tail = self.resampler.process(b"", last=True)
        if tail and not self.failed:
            await self.engine_session.append(tail)
            await self.writer.write(tail)
        await self.engine_session.close()
        if self.events_task is not None:
            await self.events_task
        await self._finish_recording()

    async def abort(self) -> None:
        self.ending = True
        for task in (self.events_task, self.store_task):
            if task is not None:
                task.cancel()
        if self.unstored:  # dropped while waiting for the database: said, never silent
            logger.error("%d finals of user %s are lost (dropped)", self.unstored, self.user.pk)
            self.unstored = 0
            await self._tell_lost()
        with contextlib.suppress(Exception):
            await self.engine_session.close()
        await self._finish_recording()

    # --- Engine events -------------------------------------------------------------------

    async def _forward_events(self) -> None:
        try:
            async for event in self.engine_session.events():
                await self._forward(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("upstream session of %s failed", self.user.pk)
        # The finals heard so far are stored first: a failed session is soon dropped (abort).
        self.finals.put_nowait(None)
        if self.store_task is not None:
            await self.store_task
        if not self.ending:
            self.failed = True
            metrics.engine_errors.labels(self.engine_name).inc()
            await self.audience.tell_speaker(
                events.error_event(
                    "upstream_error",
                    "Transcription stopped unexpectedly; it starts again with your next audio "
                    "(the audio is still recorded).",
                )
            )

    async def _forward(self, event: Event) -> None:
        if isinstance(event, Final):
            if event.text.strip():
                self.unstored += 1
                self.finals.put_nowait(event)
            else:
                self.stopped_at.pop(event.item_id, None)
            return
        if isinstance(event, EngineError):
            code = "upstream_unavailable" if event.fatal else "upstream_error"
            await self.audience.tell_speaker(events.error_event(code, event.message[:300]))
            return
        item_id = self._item(event.item_id)
        if isinstance(event, SpeechStopped):
            self.stopped_at[event.item_id] = time.monotonic()
        if isinstance(event, Partial):
            payload: Any = events.caption_partial(self.user, item_id, event.text)
        else:
            kind = "speech.started" if isinstance(event, SpeechStarted) else "speech.stopped"
            payload = events.speech_event(kind, self.user, item_id, event.audio_ms)
        try:
            await self.audience.deliver(payload)
        except Exception:
            # a partial is superseded by the next one; its final is what must arrive
            logger.warning("could not deliver %s", payload["type"], exc_info=True)

    async def _store_finals(self) -> None:
        """Store the finals one at a time, in the order the engine gave them."""
        while (final := await self.finals.get()) is not None:
            try:
                await self._store_final(final)
            except Exception:
                logger.exception("storing a final of %s failed", self.user.pk)
                await self._tell_lost()
            self.unstored -= 1

    async def _store_final(self, final: Final) -> None:
        stopped_at = self.stopped_at.pop(final.item_id, None)
        text = final.text.strip()
        if final.start_ms < self.shared_until_ms and await self._said_before(final):
            return
        waits = {True: iter(STORE_RETRY_DELAYS), False: iter(REFUSED_RETRY_DELAYS)}
        while True:
            try:
                segment = await self._save_segment(final, text)
            except Exception as error:
                unreachable = isinstance(error, UNREACHABLE)
                delay = next(waits[unreachable], None)
                # an outage is one line a try; a refusal's traceback says what to fix
                logger.warning(
                    "storing a final of %s failed (%s)",
                    self.user.pk,
                    type(error).__name__,
                    exc_info=not unreachable,
                )
                if delay is None:
                    break
                metrics.store_retries.labels("unreachable" if unreachable else "refused").inc()
                await asyncio.sleep(delay)
                continue
            await self.audience.final_stored(segment)
            if stopped_at is not None:
                metrics.final_latency.observe(time.monotonic() - stopped_at)
            return
        logger.error("a final of user %s is lost (%d characters)", self.user.pk, len(text))
        await self._tell_lost()

    async def _tell_lost(self) -> None:
        await self.audience.tell_speaker(
            events.error_event(
                "caption_not_saved",
                "One of your captions could not be saved or sent (the audio is kept in the "
                "recording). Captioning goes on.",
            )
        )

    def _item(self, engine_item_id: str) -> str:
        return f"{self.key}-{engine_item_id}"

    def _language(self, final: Final) -> str:
        # Segment.language is short; an engine's odd answer must not make the final unstorable
        language = final.language or self.language
        return language if _LANGUAGE.fullmatch(language) else ""

    # --- Database ------------------------------------------------------------------------

    async def _finish_recording(self) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        await writer.close()
        if self.recording is not None:
            await database_sync_to_async(actions.do_finish_recording)(
                self.recording, writer.duration_ms
            )

    async def _said_before(self, final: Final) -> bool:
        """A final another session of this speaker stored already: the same audio, which the
        page sent again after its connection broke."""
        start_ms, end_ms = self.offset_ms + final.start_ms, self.offset_ms + final.end_ms
        try:
            segment = await database_sync_to_async(queries.already_said)(
                self.meeting, self.user, start_ms, end_ms
            )
        except Exception:  # the store will try (and retry): twice is better than never
            logger.warning("could not look for a replayed final", exc_info=True)
            return False
        if segment is not None:
            logger.info("a replayed final of user %s was stored before", self.user.pk)
        return segment is not None

    @database_sync_to_async
    def _save_segment(self, final: Final, text: str) -> Segment:
        return self.audience.store_final(
            self.meeting,
            self.user,
            item_id=self._item(final.item_id),
            text=text,
            start_ms=self.offset_ms + final.start_ms,
            end_ms=self.offset_ms + final.end_ms,
            avg_logprob=final.avg_logprob,
            confidence=final.confidence,
            language=self._language(final),
            engine=self.engine_name,
        )
