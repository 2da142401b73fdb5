"""The live caption endpoints of shared/PROTOCOL.md.

One consumer per WebSocket connection. A connection that sends audio gets one
upstream engine session; its partials and finals go to every participant of
the room through the Redis channel layer. Audio itself never leaves the
process (only text crosses Redis).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import secrets
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from meetings import actions
from meetings.access import Access, get_meeting_for_user
from meetings.events import ParticipantInfo, SpeakerInfo, error_event, room_group
from meetings.models import Meeting, Membership, Recording, Segment

from . import limits, presence
from .audio import AudioDecodeError, StreamResampler
from .capture import CaptureState
from .engines import get_realtime_engine
from .engines.base import (
    EngineError,
    EngineSession,
    EngineUnavailable,
    Final,
    Partial,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)
from .recording import RecordingWriter

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 24000
# How long a disconnecting speaker's last utterance may take to finish.
FLUSH_ON_DISCONNECT_SECONDS = 10.0


class CloseCode:
    NOT_AUTHENTICATED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    IDLE = 4408
    TOO_MANY = 4429
    TOO_BIG = 1009


class CaptionConsumer(AsyncWebsocketConsumer):
    """What the room and the personal endpoint share: audio in, captions out."""

    #: room consumers broadcast to the group; the personal one answers the sender only
    broadcasts = True

    access: Access | None = None
    engine_session: EngineSession | None = None

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
        self.counted = False
        self.tasks: list[asyncio.Task] = []
        self.events_task: asyncio.Task | None = None
        self.recording_writer: RecordingWriter | None = None
        self.sample_rate = DEFAULT_SAMPLE_RATE
        self.language: str | None = None
        self.last_activity = time.monotonic()
        self.audio_budget = limits.AudioBudget()

        user = self.scope.get("user")
        # accept first: a close code can only be sent on an open WebSocket
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(CloseCode.NOT_AUTHENTICATED)
            return
        self.user = user
        try:
            self.access = await self._resolve_access()
        except Http404:
            await self.close(CloseCode.NOT_FOUND)
            return
        except PermissionDenied:
            await self.close(CloseCode.FORBIDDEN)
            return
        self.counted = await limits.open_connection(user.pk)
        if not self.counted:
            await self.send_event(error_event("rate_limited", "Too many open connections."))
            await self.close(CloseCode.TOO_MANY)
            return

        self.meeting = self.access.meeting
        if self.broadcasts:
            await self.channel_layer.group_add(room_group(self.meeting.pk), self.channel_name)
            connections = await presence.change(self.meeting.pk, self.user.pk, +1)
        in_room = await presence.connections(self.meeting.pk) if self.broadcasts else {}
        await self.send_event(await self._session_ready(in_room))
        if self.broadcasts:
            await actions.send_event(
                self.meeting.pk,
                {
                    "type": "participant.joined",
                    "participant": {**self.participant, "connections": connections},
                },
            )
        self.tasks.append(asyncio.create_task(self._watch_idle()))

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        if self.engine_session is not None:
            # Finish the utterance in flight so the room still gets its final.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stop_upstream(), FLUSH_ON_DISCONNECT_SECONDS)
            await self._abort_upstream()
        if self.counted and self.broadcasts:
            connections = await presence.change(self.meeting.pk, self.user.pk, -1)
            await actions.send_event(
                self.meeting.pk,
                {
                    "type": "participant.left",
                    "participant": {**self.participant, "connections": connections},
                },
            )
            await self.channel_layer.group_discard(room_group(self.meeting.pk), self.channel_name)
        if self.counted:
            await limits.close_connection(self.user.pk)

    # --- Messages from the client ------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.access is None:
            return
        self.last_activity = time.monotonic()
        size = len(bytes_data) if bytes_data is not None else len((text_data or "").encode())
        if size > settings.CAPTIONS_MAX_FRAME_BYTES:
            await self.close(CloseCode.TOO_BIG)
            return
        if bytes_data is not None:
            await self.handle_audio(bytes_data)
            return
        try:
            message = json.loads(text_data or "")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await self.send_event(
                error_event("invalid_message", "Send JSON objects with a 'type'.")
            )
            return
        handler = self.message_handlers.get(kind)
        if handler is None:
            await self.send_event(error_event("invalid_message", f"Unknown message type {kind!r}."))
            return
        await handler(self, message)

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send_event({"type": "pong"})

    async def on_session_start(self, message: dict[str, Any]) -> None:
        if self.state is not CaptureState.IDLE:
            await self.send_event(
                error_event("invalid_message", "session.start must come before the first audio.")
            )
            return
        rate = message.get("sample_rate", DEFAULT_SAMPLE_RATE)
        try:
            StreamResampler(int(rate), 16000)
        except (AudioDecodeError, TypeError, ValueError) as exc:
            await self.send_event(error_event("invalid_audio_format", str(exc)))
            return
        self.sample_rate = int(rate)
        language = message.get("language")
        if language is not None and not isinstance(language, str):
            await self.send_event(error_event("invalid_message", "language must be a string."))
            return
        self.language = language

    async def on_append(self, message: dict[str, Any]) -> None:
        encoded = message.get("audio", message.get("data"))
        try:
            pcm = base64.b64decode(encoded, validate=True)
        except (binascii.Error, TypeError, ValueError):
            await self.send_event(
                error_event("invalid_audio_format", "Audio must be base64 PCM16.")
            )
            return
        await self.handle_audio(pcm)

    async def on_commit(self, message: dict[str, Any]) -> None:
        if self.engine_session is not None:
            await self.engine_session.commit()

    async def on_clear(self, message: dict[str, Any]) -> None:
        if self.engine_session is not None:
            await self.engine_session.clear()

    async def on_stop(self, message: dict[str, Any]) -> None:
        await self._stop_upstream()
        if self.broadcasts:
            # The last finals reach this client through the group; queueing the reply on
            # the same channel keeps it behind them.
            await self.channel_layer.send(
                self.channel_name,
                {"type": "room.session_stopped", "event": {"type": "session.stopped"}},
            )
        else:
            await self.send_event({"type": "session.stopped"})

    message_handlers = {
        "ping": on_ping,
        "session.start": on_session_start,
        "input_audio_buffer.append": on_append,
        "audio_chunk": on_append,
        "input_audio_buffer.commit": on_commit,
        "input_audio_buffer.clear": on_clear,
        "session.stop": on_stop,
    }

    async def handle_audio(self, pcm: bytes) -> None:
        if not self.access.can_speak:
            await self.send_event(error_event("forbidden", "Listeners cannot send audio."))
            await self.close(CloseCode.FORBIDDEN)
            return
        if len(pcm) % 2:
            await self.send_event(
                error_event(
                    "invalid_audio_format", "Audio must be 16-bit PCM: an even number of bytes."
                )
            )
            return
        if not self.audio_budget.spend(len(pcm) / 2 / self.sample_rate):
            await self.send_event(
                error_event("rate_limited", "Audio is arriving faster than real time.")
            )
            await self.close(CloseCode.TOO_MANY)
            return
        if self.state is CaptureState.STOPPING:
            return
        if self.engine_session is None and not await self._start_upstream():
            return
        samples = self.resampler.process(pcm)
        if samples:
            await self.engine_session.append(samples)
            await self.recording_writer.write(samples)

    # --- The upstream session ----------------------------------------------------------

    async def _start_upstream(self) -> bool:
        engine = get_realtime_engine(settings.TRANSCRIPTION_ENGINE)
        config = SessionConfig(
            language=self._language_for_engine(),
            prompt=self.meeting.glossary,
            vad_threshold=settings.OPENAI_REALTIME_VAD_THRESHOLD,
            silence_ms=settings.OPENAI_REALTIME_SILENCE_MS,
            noise_reduction=settings.OPENAI_REALTIME_NOISE_REDUCTION or None,
        )
        try:
            session = await engine.open(config)
        except EngineUnavailable as exc:
            logger.warning("engine %s unavailable: %s", engine.name, exc)
            await self.send_event(
                error_event("upstream_unavailable", "Transcription is unavailable right now.")
            )
            return False
        except Exception:
            logger.exception("could not open an upstream session")
            await self.send_event(
                error_event("upstream_unavailable", "Transcription is unavailable right now.")
            )
            return False
        self.state = self.state.to(CaptureState.STREAMING)
        self.engine_session = session
        self.engine_name = engine.name
        self.resampler = StreamResampler(self.sample_rate, engine.input_sample_rate)
        self.session_key = secrets.token_hex(4)
        self.offset_ms = await self._start_meeting_clock()
        self.recording_writer = RecordingWriter(self.meeting.slug, engine.input_sample_rate)
        self.recording = await self._create_recording()
        self.events_task = asyncio.create_task(self._forward_events(session))
        return True

    async def _stop_upstream(self) -> None:
        """Flush: the remaining finals are sent before this returns."""
        session, task = self.engine_session, self.events_task
        if session is None:
            return
        self.state = self.state.to(CaptureState.STOPPING)
        tail = self.resampler.process(b"", last=True)
        if tail:
            await session.append(tail)
            await self.recording_writer.write(tail)
        await session.close()
        if task is not None:
            await task
        await self._finish_recording()
        self.engine_session = self.events_task = None
        self.state = self.state.to(CaptureState.IDLE)

    async def _abort_upstream(self) -> None:
        if self.events_task is not None:
            self.events_task.cancel()
        if self.engine_session is not None:
            with contextlib.suppress(Exception):
                await self.engine_session.close()
        await self._finish_recording()
        self.engine_session = self.events_task = None

    async def _forward_events(self, session: EngineSession) -> None:
        try:
            async for event in session.events():
                await self._forward(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("upstream session failed")
            await self.send_event(
                error_event("upstream_error", "Transcription failed; audio is still recorded.")
            )

    async def _forward(self, event: Any) -> None:
        speaker: SpeakerInfo = {"id": self.user.pk, "name": self.user.name}
        if isinstance(event, SpeechStarted | SpeechStopped):
            kind = "speech.started" if isinstance(event, SpeechStarted) else "speech.stopped"
            await self.deliver(
                {
                    "type": kind,
                    "speaker": speaker,
                    "item_id": self._item(event.item_id),
                    "audio_ms": event.audio_ms,
                }
            )
        elif isinstance(event, Partial):
            await self.deliver(
                {
                    "type": "caption.partial",
                    "speaker": speaker,
                    "item_id": self._item(event.item_id),
                    "text": event.text,
                }
            )
        elif isinstance(event, Final):
            await self._store_final(event)
        elif isinstance(event, EngineError):
            code = "upstream_unavailable" if event.fatal else "upstream_error"
            await self.send_event(error_event(code, event.message))

    async def _store_final(self, final: Final) -> None:
        text = final.text.strip()
        if not text:
            return
        segment = await self._save_segment(final, text)
        if segment is not None and not self.broadcasts:
            await self.send_event(actions.caption_final_event(segment))

    def _item(self, engine_item_id: str) -> str:
        # engine ids are unique per upstream session; the room needs them unique per meeting
        return f"{self.session_key}-{engine_item_id}"

    def _language_for_engine(self) -> str | None:
        language = self.language or self.meeting.language or "en"
        return None if language == "auto" else language

    # --- To the client -----------------------------------------------------------------

    async def send_event(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the socket may be closing
            await self.send(text_data=json.dumps(event))

    async def deliver(self, event: dict[str, Any]) -> None:
        """An unstored event for everyone in the room (or just the sender)."""
        if self.broadcasts:
            await actions.send_event(self.meeting.pk, event)
        else:
            await self.send_event(event)

    # channel-layer handlers: the group's events go straight to this client
    async def room_caption_partial(self, message: dict[str, Any]) -> None:
        await self.send_event(message["event"])

    room_caption_final = room_caption_partial
    room_speech_started = room_caption_partial
    room_speech_stopped = room_caption_partial
    room_participant_joined = room_caption_partial
    room_participant_left = room_caption_partial
    room_session_stopped = room_caption_partial

    async def _watch_idle(self) -> None:
        idle = settings.CAPTIONS_IDLE_SECONDS
        while True:
            await asyncio.sleep(min(5.0, idle / 4))
            if time.monotonic() - self.last_activity > idle:
                await self.send_event(error_event("idle", f"No message for {idle} s; closing."))
                await self.close(CloseCode.IDLE)
                return

    @property
    def participant(self) -> ParticipantInfo:
        return {"id": self.user.pk, "name": self.user.name, "role": self.access.role}

    # --- Database ----------------------------------------------------------------------

    async def _resolve_access(self) -> Access:
        return await database_sync_to_async(get_meeting_for_user)(
            self.user, self.scope["url_route"]["kwargs"]["slug"]
        )

    @database_sync_to_async
    def _session_ready(self, in_room: dict[int, int]) -> dict[str, Any]:
        recent = list(
            Segment.objects.for_meeting(self.meeting).order_by("-start_ms", "-id")[
                : settings.CAPTIONS_HISTORY
            ]
        )
        participants = [
            {
                "id": m.user_id,
                "name": m.user.name,
                "role": m.role,
                "connections": in_room.get(m.user_id, 0),
            }
            for m in Membership.objects.filter(meeting=self.meeting).select_related("user")
        ]
        return {
            "type": "session.ready",
            "meeting": {
                "slug": self.meeting.slug,
                "title": self.meeting.title,
                "language": self.meeting.language,
            },
            "participant": self.participant,
            "engine": settings.TRANSCRIPTION_ENGINE,
            "sample_rate": self.sample_rate,
            "participants": participants,
            "history": [actions.caption_final_event(s) for s in reversed(recent)],
        }

    @database_sync_to_async
    def _start_meeting_clock(self) -> int:
        self.meeting.start()
        return self.meeting.ms_since_start(timezone.now())

    @database_sync_to_async
    def _create_recording(self) -> Recording:
        return Recording.objects.create(
            meeting=self.meeting,
            speaker=self.user,
            speaker_name=self.user.name,
            file=self.recording_writer.relative_name,
            sample_rate=self.recording_writer.sample_rate,
            offset_ms=self.offset_ms,
        )

    async def _finish_recording(self) -> None:
        writer = self.recording_writer
        if writer is None:
            return
        self.recording_writer = None
        await writer.close()
        await database_sync_to_async(Recording.objects.filter(pk=self.recording.pk).update)(
            duration_ms=writer.duration_ms
        )

    @database_sync_to_async
    def _save_segment(self, final: Final, text: str) -> Segment | None:
        return actions.do_store_final(
            self.meeting,
            self.user,
            item_id=self._item(final.item_id),
            text=text,
            start_ms=self.offset_ms + final.start_ms,
            end_ms=self.offset_ms + final.end_ms,
            avg_logprob=final.avg_logprob,
            confidence=final.confidence,
            language=final.language or self._language_for_engine() or "",
            engine=self.engine_name,
            broadcast=self.broadcasts,
        )


class MeetingConsumer(CaptionConsumer):
    """``/ws/meetings/<slug>/``: a room where everyone sees everyone's captions."""


class PersonalTranscriptionConsumer(CaptionConsumer):
    """``/ws/realtime/transcribe``: captions go back to the sender, kept in their own transcript."""

    broadcasts = False

    async def _resolve_access(self) -> Access:
        meeting = await database_sync_to_async(Meeting.personal_for)(self.user)
        return Access(meeting, Membership.Role.HOST)
