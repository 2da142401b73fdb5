"""The two caption endpoints: what differs between them is who hears the captions.

``/ws/meetings/<slug>/`` is a room: everyone in it, on every server process, hears every
speaker. ``/ws/realtime/transcribe`` is a person's own transcript: the captions go back to the
sender alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from meetings import actions, events, queries
from meetings.access import (
    Access,
    aget_meeting_for_user,
    get_meeting_for_user,
    get_personal_transcript,
)

from . import limits, presence
from .consumers import PARTICIPANTS_PAGE, CaptionConsumer
from .messages import AddBookmark, EndMeeting, ListParticipants, ReopenMeeting

if TYPE_CHECKING:
    from meetings.models import Meeting, Segment, User

MEETING_ENDED = (
    "The meeting has ended: microphones are no longer captioned. A host can start it again."
)


class MeetingConsumer(CaptionConsumer):
    """``/ws/meetings/<slug>/``: a room where everyone sees everyone's captions.

    The features above transcription add to a room's connection by overriding its hooks
    (:meth:`leave`, :meth:`final_stored`, ``on_translation_choose``) in a mixin that calls
    ``super()``; the project's routing (:mod:`config.routing`) composes them.
    """

    @property
    def room_id(self) -> int:
        return self.meeting.pk

    def access_for(self, user: User) -> Access:
        return get_meeting_for_user(user, self.scope["url_route"]["kwargs"]["slug"])

    async def access_on_connect(self, user: User) -> Access:
        # with the others connecting now: a storm's checks take a few queries, not two each
        return await aget_meeting_for_user(user, self.scope["url_route"]["kwargs"]["slug"])

    async def join(self) -> tuple[int, dict[int, int]]:
        await self.channel_layer.group_add(events.room_group(self.room_id), self.channel_name)
        # session.ready reads the meeting's end again, now that this connection hears the room
        count = await presence.room_connection_count(self.room_id)
        return count, await presence.rooms.connections(self.room_id)

    async def welcomed(self) -> None:
        presence.rooms.changed(self.room_id, self.participant())

    async def leave(self) -> None:
        presence.rooms.changed(self.room_id, self.participant())
        await self.channel_layer.group_discard(events.room_group(self.room_id), self.channel_name)

    async def on_participants_list(self, message: ListParticipants) -> None:
        """A page of the members, each with their connections to the room now."""
        page = await database_sync_to_async(queries.members_page)(
            self.meeting, message.after, PARTICIPANTS_PAGE
        )
        in_room = await presence.rooms.connections(self.room_id)
        listed = [events.participant_info(m.user, m.role, in_room.get(m.user_id, 0)) for m in page]
        after = page[-1].pk if len(page) == PARTICIPANTS_PAGE else None
        await self.send_event(events.participants_page(listed, after))

    async def deliver(self, event: Any) -> None:
        await actions.announce(self.room_id, event)

    def store_final(self, meeting: Meeting, speaker: User, **fields: Any) -> Segment:
        return actions.do_store_final(meeting, speaker, broadcast=True, **fields)

    async def final_stored(self, segment: Segment) -> None:
        """The room heard the final through the group (store_final); nothing more to tell."""

    async def stopped(self) -> None:
        # The last finals reach this client through the group; queueing the reply on the same
        # channel keeps it behind them.
        await self.channel_layer.send(
            self.channel_name,
            {"type": events.handler_name("session.stopped"), "event": events.session_stopped()},
        )

    # --- The meeting ends, and may start again ----------------------------------------

    async def on_meeting_control(self, message: EndMeeting | ReopenMeeting) -> None:
        if not self.access.can_edit:
            await self.send_event(
                events.error_event("forbidden", "Only hosts can end or reopen the meeting.")
            )
            return
        if isinstance(message, EndMeeting):
            if not await database_sync_to_async(actions.do_end_meeting)(self.meeting, self.user):
                await self.send_event(
                    events.error_event("meeting_ended", "This meeting has already ended.")
                )
        elif not await database_sync_to_async(actions.do_reopen_meeting)(self.meeting, self.user):
            await self.send_event(
                events.error_event("invalid_message", "meeting.reopen: this meeting has not ended.")
            )

    # --- Bookmarks ---------------------------------------------------------------------

    async def on_bookmark(self, message: AddBookmark) -> None:
        """Any member, of any role, marks the moment; the room hears of it as bookmark.added."""
        if not await limits.allow_bookmark(self.user.pk):
            limit = limits.BOOKMARKS_PER_MINUTE
            await self.send_event(
                events.error_event(
                    "rate_limited",
                    f"More than {limit} bookmarks in a minute: this one was not kept.",
                )
            )
            return
        await database_sync_to_async(actions.do_add_bookmark)(self.meeting, self.user, message.note)

    async def audio_refused(self) -> bool:
        if self.meeting.ended_at is None:
            return False
        if self.speaker is not None:  # only if an end was somehow not heard: finish it now
            await self._stop_speaking()
        self.refused = True  # one error, not one a frame, until the next session.start
        await self.send_event(events.error_event("meeting_ended", MEETING_ENDED))
        return True

    async def room_meeting_ended(self, message: dict[str, Any]) -> None:
        """Every connection in the room, on every process: the speaker's session ends here."""
        event = message["event"]
        self.meeting.ended_at = datetime.fromisoformat(event["ended_at"])
        # First, so the page stops its microphone while the last utterance is decoded.
        await self.send_event(event)
        if self.speaker is not None:
            # The utterance under way is finished and stored, the recording closed.
            await self._stop_speaking()
            await self.stopped()

    async def room_meeting_reopened(self, message: dict[str, Any]) -> None:
        self.meeting.ended_at = None
        await self.send_event(message["event"])

    # channel-layer handlers: the room's events go straight to this client
    async def room_caption_partial(self, message: dict[str, Any]) -> None:
        await self.send_event(message["event"])

    room_caption_final = room_caption_partial
    room_speech_started = room_caption_partial
    room_speech_stopped = room_caption_partial
    room_presence_changed = room_caption_partial
    room_session_stopped = room_caption_partial
    room_bookmark_added = room_caption_partial


class PersonalTranscriptionConsumer(CaptionConsumer):
    """``/ws/realtime/transcribe``: captions go back to the sender, kept in their own transcript."""

    def access_for(self, user: User) -> Access:
        return get_personal_transcript(user)

    async def deliver(self, event: Any) -> None:
        await self.send_event(event)

    def store_final(self, meeting: Meeting, speaker: User, **fields: Any) -> Segment:
        return actions.do_store_final(meeting, speaker, broadcast=False, **fields)

    async def final_stored(self, segment: Segment) -> None:
        await self.send_event(events.caption_final(segment))

    async def stopped(self) -> None:
        await self.send_event(events.session_stopped())
