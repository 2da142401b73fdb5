"""The live caption endpoints of docs/PROTOCOL.md: protocol only.

One consumer per WebSocket connection. It authenticates, holds the connection's lease (the
user's quota and, in rooms, the room's presence), checks every message, and keeps the
connection's rights current (:mod:`.rights`): a revocation reaches it within a moment.
A connection that sends audio gets a :class:`SpeakerSession`. Reads go through
:mod:`meetings.queries` and :mod:`meetings.access`, writes through :mod:`meetings.actions`, and
every payload comes from :mod:`meetings.events`. The two endpoints (:mod:`.endpoints`) differ
only in who hears the captions. Audio never leaves the process: only text crosses Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from config import log_context
from meetings import events
from meetings.access import Access
from meetings.close_codes import CloseCode

from .. import metrics
from ..engines import PAID_ENGINES
from ..engines.base import EngineUnavailable, SessionConfig
from . import limits, presence, snapshot
from .capture import CaptureState
from .messages import (
    DEFAULT_SAMPLE_RATE,
    AddBookmark,
    AppendAudio,
    ChooseTranslation,
    Clear,
    ClientMessage,
    Commit,
    EndMeeting,
    InvalidMessage,
    ListParticipants,
    Ping,
    ReopenMeeting,
    SessionStart,
    Stop,
    parse_message,
)
from .rights import RightsMixin
from .speaker import SpeakerSession

if TYPE_CHECKING:
    from meetings.models import Meeting, Segment, User

logger = logging.getLogger(__name__)

#: participants in a session.ready's speakers and in one participants.page, at most
PARTICIPANTS_PAGE = 100
# How long a disconnecting speaker's last utterance may take to finish.
FLUSH_ON_DISCONNECT_SECONDS = 10.0
#: a connection that broke without a close frame (the network went): room.js sends again
ABNORMAL_CLOSURE = 1006
SERVER_BUSY = (
    "The server is captioning as many speakers as it can: your microphone is not captioned, "
    "and you are still in the room as a listener. Try again in a moment."
)
NOT_CAPTIONED = "Your microphone is not captioned; you are still in the room as a listener."
PAID_SESSIONS_LIMIT = (
    "Too many speaking sessions started in the last minute on this server's paid speech engine: "
    f"{NOT_CAPTIONED} Try again in a minute."
)


class CaptionConsumer(RightsMixin, AsyncWebsocketConsumer):
    """What both endpoints share: audio in, captions out. Subclasses say who hears them."""

    access: Access | None = None
    lease: presence.ConnectionLease | None = None
    speaker: SpeakerSession | None = None
    #: the speaker session's audio, while it is on a paid engine
    paid_audio: limits.PaidAudio | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a hop to its one
        # sync thread each time: hundreds a second in a busy room (audio frames, broadcasts).
        # Every query here runs in database_sync_to_async, which closes them itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.state = CaptureState.IDLE
        self.tasks: list[asyncio.Task] = []
        self.sample_rate = DEFAULT_SAMPLE_RATE
        self.language: str | None = None
        self.backlog_ms = 0  # of the next speaker session: see SessionStart
        self.last_activity = time.monotonic()
        self.audio_budget = limits.AudioBudget()
        #: demoted while connected: audio still in flight from the page is dropped, not fatal
        self.was_speaker = False
        self.revoked = False
        self.refused = False  # by server_busy or an ended meeting, until the next session.start

        user = self.scope.get("user")
        # accept first: a close code can only be sent on an open WebSocket
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(CloseCode.NOT_AUTHENTICATED)
            return
        self.user = user
        try:
            access = await self.access_on_connect(user)
        except (Http404, PermissionDenied) as refused:
            found = not isinstance(refused, Http404)
            await self.close(CloseCode.FORBIDDEN if found else CloseCode.NOT_FOUND)
            return
        self.meeting = access.meeting
        log_context.meeting.set(str(self.meeting.pk))
        lease = presence.ConnectionLease(self.channel_name, user.pk, self.room_id)
        if not await lease.acquire():
            limit = settings.CAPTIONS_MAX_CONNECTIONS_PER_USER
            message = (
                f"Your account already has the most connections allowed ({limit}) open: "
                "close another tab or device."
            )
            await self.send_event(events.error_event("rate_limited", message))
            await self.close(CloseCode.TOO_MANY)
            return
        self.lease, self.access = lease, access
        metrics.connections.inc()
        await self.channel_layer.group_add(events.user_group(user.pk), self.channel_name)
        connections, in_room = await self.join()
        await self.send_event(await self._session_ready(connections, in_room))
        await self.welcomed()
        # in a storm connecting may take a while: idle counts from the welcome
        self.last_activity = time.monotonic()
        self.tasks.append(asyncio.create_task(self._keep_alive()))

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        try:
            if self.speaker is not None:
                if code == ABNORMAL_CLOSURE:  # the page sends this speech again elsewhere
                    self.speaker.connection_lost()
                # Finish the utterance in flight so the room still gets its final.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._stop_speaking(), FLUSH_ON_DISCONNECT_SECONDS)
                await self._drop_speaker()
        finally:
            limits.seats.release(self.channel_name)
            await self._release()

    async def _release(self) -> None:
        lease, self.lease = self.lease, None
        if lease is None:
            return
        metrics.connections.dec()
        await lease.release()
        await self.channel_layer.group_discard(events.user_group(self.user.pk), self.channel_name)
        await self.leave()

    # --- Messages from the client ------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.access is None or self.revoked:
            return
        self.last_activity = time.monotonic()
        size = len(bytes_data) if bytes_data is not None else len((text_data or "").encode())
        if size > settings.CAPTIONS_MAX_FRAME_BYTES:
            await self.close(CloseCode.TOO_BIG)
            return
        try:
            if bytes_data is not None:
                await self.handle_audio(bytes_data)
            else:
                await self.handle(parse_message(text_data or ""))
        except InvalidMessage as exc:
            await self.send_event(events.error_event(exc.code, str(exc)))
        except Exception:
            # A bug must not cost the person their connection (nor leak its details).
            logger.exception("handling a message failed")
            await self.send_event(
                events.error_event("server_error", "That message could not be handled; try again.")
            )

    async def handle(self, message: ClientMessage) -> None:
        match message:
            case Ping():
                await self.send_event(events.pong())
            case SessionStart():
                await self.on_session_start(message)
            case AppendAudio():
                await self.handle_audio(message.pcm16())
            case Commit():
                await self.on_commit()
            case Clear():
                if self.speaker is not None:
                    await self.speaker.clear()
            case Stop():
                await self.on_stop()
            case EndMeeting() | ReopenMeeting():
                await self.on_meeting_control(message)
            case AddBookmark():
                await self.on_bookmark(message)
            case ChooseTranslation():
                await self.on_translation_choose(message)
            case ListParticipants():
                await self.on_participants_list(message)

    async def on_session_start(self, message: SessionStart) -> None:
        if self.state is not CaptureState.IDLE:
            raise InvalidMessage("session.start must come before the first audio.")
        self.refused = False  # trying again after server_busy
        self.sample_rate = message.sample_rate
        self.language = message.language
        self.backlog_ms = message.backlog_ms

    async def on_commit(self) -> None:
        if self.speaker is None:
            return
        if not await limits.allow_forced_decode(self.user.pk):
            await self.send_event(events.error_event("rate_limited", self._forced_decode_limit()))
            return
        await self.speaker.commit()

    async def on_stop(self) -> None:
        if self.speaker is not None and not await limits.allow_forced_decode(self.user.pk):
            # Stopped all the same, but the unfinished utterance is not decoded.
            await self.send_event(events.error_event("rate_limited", self._forced_decode_limit()))
            await self._drop_speaker()
        else:
            await self._stop_speaking()
        await self.stopped()

    @staticmethod
    def _forced_decode_limit() -> str:
        limit = settings.CAPTIONS_MAX_COMMITS_PER_MINUTE
        return (
            f"More than {limit} commits and stops in a minute: this one was not transcribed "
            "(the audio is kept in the recording)."
        )

    async def handle_audio(self, pcm: bytes) -> None:
        if not self.access.can_speak:
            if self.was_speaker:
                return  # the demotion's error event told them; the page stops sending
            await self.send_event(events.error_event("forbidden", "Listeners cannot send audio."))
            await self.close(CloseCode.FORBIDDEN)
            return
        if len(pcm) % 2:
            raise InvalidMessage(
                "Audio must be 16-bit PCM: an even number of bytes.", "invalid_audio_format"
            )
        if not self.audio_budget.spend(len(pcm) / 2 / self.sample_rate):
            await self.send_event(
                events.error_event("rate_limited", "Audio is arriving faster than real time.")
            )
            await self.close(CloseCode.TOO_MANY)
            return
        if self.state is CaptureState.STOPPING or self.refused or await self.audio_refused():
            return
        if self.speaker is not None and self.speaker.failed:
            await self._drop_speaker()  # told already; this audio opens a new session
        if self.speaker is None and not await self._start_speaking():
            return
        await self.speaker.feed(pcm)
        if self.paid_audio is not None:
            refusal = await self.paid_audio.spend(len(pcm) / 2 / self.sample_rate)
            if refusal is not None:
                await self._stop_speaking()  # the utterance under way still gets its final
                self.refused = True
                await self.send_event(
                    events.error_event("budget_spent", f"{refusal} {NOT_CAPTIONED}")
                )
                await self.stopped()

    # --- The speaker's upstream session ------------------------------------------------

    async def _start_speaking(self) -> bool:
        if await self._paid_refused():
            return False
        if not limits.seats.take(self.channel_name):
            # Until their next session.start their audio is ignored: one error, not one a frame.
            self.refused, self.paid_audio = True, None
            await self.send_event(events.error_event("server_busy", SERVER_BUSY))
            return False
        try:
            self.speaker = await SpeakerSession.open(
                self.meeting,
                self.user,
                self._session_config(),
                self.sample_rate,
                audience=self,
                backlog_ms=self.backlog_ms,
            )
            self.backlog_ms = 0
        except Exception as exc:
            if isinstance(exc, EngineUnavailable):
                logger.warning("engine unavailable: %s", exc)
            else:
                logger.exception("could not open an upstream session")
            metrics.engine_errors.labels(settings.TRANSCRIPTION_ENGINE).inc()
            limits.seats.release(self.channel_name)
            self.paid_audio = None
            await self.send_event(
                events.error_event(
                    "upstream_unavailable", "Transcription is unavailable right now."
                )
            )
            return False
        self.state = self.state.to(CaptureState.STREAMING)
        return True

    async def _paid_refused(self) -> bool:
        """A new session on a paid engine is refused once the meeting's or the day's minutes
        are spent, or past the rate of new sessions; until the next session.start its audio is
        ignored (one error, not one a frame), and the person stays in the room as a listener."""
        if settings.TRANSCRIPTION_ENGINE not in PAID_ENGINES:
            return False
        paid = limits.PaidAudio(self.meeting.pk)
        if (refusal := await paid.refusal()) is not None:
            error = events.error_event("budget_spent", f"{refusal} {NOT_CAPTIONED}")
        elif not await limits.allow_paid_session(self.user.pk, self.meeting.pk):
            error = events.error_event("rate_limited", PAID_SESSIONS_LIMIT)
        else:
            self.paid_audio = paid
            return False
        self.refused = True
        await self.send_event(error)
        return True

    async def _paid_session_ended(self) -> None:
        paid, self.paid_audio = self.paid_audio, None
        if paid is not None:
            with contextlib.suppress(Exception):  # Redis away: these seconds go uncounted
                await paid.finish()

    async def _stop_speaking(self) -> None:
        """Flush: the remaining finals are sent before this returns."""
        speaker = self.speaker
        if speaker is None:
            return
        self.state = self.state.to(CaptureState.STOPPING)
        try:
            await speaker.finish()
        except Exception:
            logger.exception("flushing the upstream session failed")
            await self.send_event(
                events.error_event("upstream_error", "The last utterance could not be finished.")
            )
            await self._drop_speaker()
            return
        self.speaker = None
        limits.seats.release(self.channel_name)
        await self._paid_session_ended()
        self.state = self.state.to(CaptureState.IDLE)

    async def _drop_speaker(self) -> None:
        speaker, self.speaker = self.speaker, None
        limits.seats.release(self.channel_name)
        await self._paid_session_ended()
        if speaker is not None:
            await speaker.abort()
        if self.state is not CaptureState.IDLE:
            self.state = self.state.to(CaptureState.IDLE)

    def _session_config(self) -> SessionConfig:
        language = self.language or self.meeting.language or "en"
        return SessionConfig(
            language=None if language == "auto" else language,
            prompt=self.meeting.glossary,
            vad_threshold=settings.OPENAI_REALTIME_VAD_THRESHOLD,
            silence_ms=settings.OPENAI_REALTIME_SILENCE_MS,
            noise_reduction=settings.OPENAI_REALTIME_NOISE_REDUCTION or None,
        )

    async def _keep_alive(self) -> None:
        """Close idle connections, renew the lease, and check rights now and then.

        The recheck is the backstop for changes made without the actions (a shell, raw SQL,
        a logout): those reach an open connection within CAPTIONS_ACCESS_RECHECK_SECONDS.
        """
        idle = settings.CAPTIONS_IDLE_SECONDS
        step = min(5.0, idle / 4, presence.lease_seconds() / 3)
        renewed = checked = time.monotonic()
        while True:
            await asyncio.sleep(step)
            now = time.monotonic()
            if now - self.last_activity > idle:
                await self.send_event(
                    events.error_event("idle", f"No message for {idle} s; closing.")
                )
                await self.close(CloseCode.IDLE)
                return
            if now - renewed >= presence.lease_seconds() / 3:
                renewed = now
                with contextlib.suppress(Exception):  # Redis away: the next round tries again
                    await self.lease.renew()
            if now - checked >= settings.CAPTIONS_ACCESS_RECHECK_SECONDS:
                checked = now
                # through the consumer's own queue, so it never runs beside a message's handler
                await self.channel_layer.send(self.channel_name, {"type": events.ACCESS_CHANGED})

    # --- To the client -----------------------------------------------------------------

    async def send_event(self, event: Any) -> None:
        if event["type"] == "error":
            metrics.errors_sent.labels(event["code"]).inc()
        with contextlib.suppress(Exception):  # the socket may be closing
            await self.send(text_data=json.dumps(event))

    async def tell_speaker(self, event: Any) -> None:
        await self.send_event(event)

    def participant(self, connections: int | None = None) -> events.ParticipantInfo:
        return events.participant_info(self.user, self.access.role, connections)

    async def _session_ready(self, connections: int, here: dict[int, int]) -> events.SessionReady:
        # After join(): an end from before is in the snapshot, a later one reaches this
        # connection as meeting.ended. (here may be a presence batch old, but this one is here.)
        room = await snapshot.read(self.meeting, PARTICIPANTS_PAGE, settings.CAPTIONS_HISTORY)
        self.meeting.ended_at = room.ended_at
        in_room = {**here, self.user.pk: max(here.get(self.user.pk, 0), 1)}
        return events.session_ready(
            self.meeting,
            self.participant(),
            engine=settings.TRANSCRIPTION_ENGINE,
            sample_rate=self.sample_rate,
            members=room.members,
            connections=max(connections, 1),
            speakers=[
                events.participant_info(m.user, m.role, in_room.get(m.user_id, 0))
                for m in room.speakers
            ],
            history=room.history,
            bookmarks=room.bookmarks,
        )

    # --- What each endpoint decides ----------------------------------------------------

    #: the room whose presence this connection counts in, if any
    room_id: int | None = None

    def access_for(self, user: User) -> Access:
        """The user's access to this endpoint's meeting (sync: runs off the event loop)."""
        raise NotImplementedError

    async def access_on_connect(self, user: User) -> Access:
        return await database_sync_to_async(self.access_for)(user)

    async def join(self) -> tuple[int, dict[int, int]]:
        """Start hearing the audience; how many connections it has now, and who is in it
        (user id → connections, possibly a presence batch old)."""
        return 1, {}

    async def welcomed(self) -> None:
        """After session.ready: tell the others, if there are others."""

    async def leave(self) -> None:
        """Stop hearing the audience, and tell the others."""

    async def deliver(self, event: Any) -> None:
        """An event that is not stored (partials, speech), for everyone who hears it."""
        raise NotImplementedError

    def store_final(self, meeting: Meeting, speaker: User, **fields: Any) -> Segment:
        raise NotImplementedError

    async def final_stored(self, segment: Segment) -> None:
        """After a final is stored: tell whoever store_final did not."""

    async def stopped(self) -> None:
        """session.stopped, after the session's last finals."""
        raise NotImplementedError

    async def on_meeting_control(self, message: EndMeeting | ReopenMeeting) -> None:
        """meeting.end, meeting.reopen: only rooms end."""
        raise InvalidMessage(f"{message.type}: only meeting rooms end; this endpoint has none.")

    async def on_bookmark(self, message: AddBookmark) -> None:
        raise InvalidMessage("bookmark.add: only meeting rooms have bookmarks.")

    async def on_translation_choose(self, message: ChooseTranslation) -> None:
        raise InvalidMessage("translation.choose: only meeting rooms are translated.")

    async def on_participants_list(self, message: ListParticipants) -> None:
        raise InvalidMessage("participants.list: only meeting rooms have participants.")

    async def audio_refused(self) -> bool:
        """True when this audio may not be captioned (told once; see :attr:`refused`)."""
        return False
