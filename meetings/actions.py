"""Every write that other people or processes must hear of, then the telling.

Writes tell the room (or a user's open connections) after their transaction commits. Only the
functions here send to a channel-layer group; the payloads come from :mod:`meetings.events`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import events, signals
from .models import ApiToken, Bookmark, Meeting, Membership, Recording, Removal, Segment, User

logger = logging.getLogger(__name__)

RoomEvent = (
    events.CaptionFinal | events.MeetingEnded | events.MeetingReopened | events.BookmarkAdded
)


def send_on_commit(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to a channel-layer group once the surrounding transaction commits.

    The one way a write is told to open connections, for this module and the apps' actions:
    a connection that hears of it reads what was committed, and a rolled-back write is never
    told. Outside a transaction it is sent at once.
    """
    transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, message))


async def send_now(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to a group now: for what is not stored (partials, presence, failures)."""
    await get_channel_layer().group_send(group, message)


def send_event_on_commit(meeting_id: int, event: RoomEvent) -> None:
    """Broadcast to the room once the surrounding transaction commits."""
    send_on_commit(events.room_group(meeting_id), _room_message(event))


def _room_message(event: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": events.handler_name(event["type"]), "event": event}


async def announce(
    meeting_id: int,
    event: events.CaptionPartial | events.SpeechEvent | events.PresenceChanged,
) -> None:
    """Tell the room something that is not stored: partials, speech and presence."""
    await send_now(events.room_group(meeting_id), _room_message(event))


# --- The live transcript --------------------------------------------------------------------


def do_start_clock(meeting: Meeting) -> int:
    """Start the meeting's clock if nobody has yet; the milliseconds since it started."""
    meeting.start()
    return meeting.ms_since_start(timezone.now())


def do_start_recording(
    meeting: Meeting, speaker: User, *, file_name: str, sample_rate: int, offset_ms: int
) -> Recording:
    """One speaker's audio of one upstream session, kept for re-transcription."""
    return Recording.objects.create(
        meeting=meeting,
        speaker=speaker,
        speaker_name=speaker.name,
        file=file_name,
        sample_rate=sample_rate,
        offset_ms=offset_ms,
    )


def do_finish_recording(recording: Recording, duration_ms: int) -> None:
    recording.duration_ms = duration_ms
    recording.save(update_fields=["duration_ms"])


def do_store_final(
    meeting: Meeting,
    speaker: User,
    *,
    item_id: str,
    text: str,
    start_ms: int,
    end_ms: int,
    avg_logprob: float | None,
    confidence: float | None,
    language: str,
    engine: str,
    broadcast: bool = True,
) -> Segment:
    """Store one final caption and, after commit, broadcast it to the room.

    Safe to call again for the same item (a retry after a failure, an upstream replay): the
    segment is stored once, and the stored one is broadcast again, so a broadcast that failed
    the first time still reaches the room. Clients key captions by item_id.
    """
    try:
        with transaction.atomic():
            segment = Segment.objects.create(
                meeting=meeting,
                speaker=speaker,
                speaker_name=speaker.name,
                item_id=item_id,
                text=text,
                original_text=text,
                start_ms=start_ms,
                end_ms=max(end_ms, start_ms),
                avg_logprob=avg_logprob,
                confidence=confidence,
                language=language,
                engine=engine,
            )
            if broadcast:
                send_event_on_commit(meeting.pk, events.caption_final(segment))
    except IntegrityError:
        # unique (meeting, item_id): stored by an earlier attempt
        segment = Segment.objects.get(meeting=meeting, item_id=item_id)
        if broadcast:
            send_event_on_commit(meeting.pk, events.caption_final(segment))
    return segment


def do_add_bookmark(meeting: Meeting, author: User, note: str = "") -> Bookmark:
    """Mark the meeting's current moment for everyone in the room, with an optional note.

    The moment is on the meeting's clock, as captions are; before anyone has spoken it is 0
    (a bookmark does not start the meeting: only speech does).
    """
    # another connection's speaker may have started the clock since this object was read
    meeting.refresh_from_db(fields=["started_at"])
    with transaction.atomic():
        bookmark = Bookmark.objects.create(
            meeting=meeting,
            author=author,
            author_name=author.name,
            at_ms=meeting.ms_since_start(timezone.now()),
            note=note,
        )
        send_event_on_commit(meeting.pk, events.bookmark_added(bookmark))
    return bookmark


# --- The meeting's life ----------------------------------------------------------------------


def do_end_meeting(meeting: Meeting, by: User | None) -> bool:
    """End the meeting and tell the room; False (and no telling) if it had ended already.

    ``by`` is the host who ended it, None for the idle sweep. Every connection in the room, on
    every process, finishes its speaker's utterance (stored, recording closed) when it hears.
    """
    with transaction.atomic():
        if not meeting.end():
            return False
        event = events.meeting_ended(meeting, by)
        transaction.on_commit(lambda: _tell_meeting_ended(meeting, by, event))
    return True


def _tell_meeting_ended(meeting: Meeting, by: User | None, event: events.MeetingEnded) -> None:
    """The room first, then the apps built on the core (summaries queue the summary)."""
    async_to_sync(send_now)(events.room_group(meeting.pk), _room_message(event))
    # the meeting has ended whatever a receiver does: its failure is logged, not raised
    for receiver, result in signals.meeting_ended.send_robust(Meeting, meeting=meeting, by=by):
        if isinstance(result, Exception):
            logger.error("%r failed on meeting.ended", receiver, exc_info=result)


def do_reopen_meeting(meeting: Meeting, by: User) -> bool:
    """A host lets an ended meeting go on; False (and no telling) if it had not ended."""
    with transaction.atomic():
        if not meeting.reopen():
            return False
        send_event_on_commit(meeting.pk, events.meeting_reopened(by))
    return True


def do_correct_segment(segment: Segment, text: str, editor: User) -> Segment:
    """A host fixes what was transcribed; the original text stays in original_text."""
    if not segment.original_text:
        segment.original_text = segment.text
    segment.text = text
    segment.edited_by = editor
    segment.edited_at = timezone.now()
    segment.save(update_fields=["text", "original_text", "edited_by", "edited_at"])
    return segment


def do_rename_speaker(meeting: Meeting, old_name: str, new_name: str) -> int:
    """Rename a speaker in every version of a meeting's transcript; the original is kept."""
    segments = Segment.objects.filter(meeting=meeting, speaker_name=old_name)
    segments.filter(original_speaker_name="").update(original_speaker_name=old_name)
    return segments.update(speaker_name=new_name)


# --- Rights: every change that takes something away reaches the user's open sockets -------


def notify_access_changed_on_commit(user_id: int) -> None:
    """Tell every open connection of the user to check its rights again, once this commits.

    Consumers listen on the user's group and close (or stop taking audio) within a moment.
    """
    send_on_commit(events.user_group(user_id), {"type": events.ACCESS_CHANGED})


def do_set_role(meeting: Meeting, user: User, role: str) -> Membership:
    """Add the user to the meeting with this role, or change the role they have.

    A host who adds someone removed before lets them back in: the removal is forgotten.
    """
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            meeting=meeting, user=user, defaults={"role": role}
        )
        if created:
            Removal.objects.filter(meeting=meeting, user=user).delete()
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
            notify_access_changed_on_commit(user.pk)
    return membership


def do_remove_member(meeting: Meeting, user: User, by: User | None = None) -> bool:
    """Take the user out of the meeting (the owner cannot be removed); True if they were in.

    The removal is remembered, so that the meeting's join link does not let them back in.
    """
    if user.pk == meeting.owner_id:
        raise ValueError("the owner of a meeting cannot be removed from it")
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(meeting=meeting, user=user).delete()
        if deleted:
            remember_removal(meeting, user, by)
            notify_access_changed_on_commit(user.pk)
    return bool(deleted)


def remember_removal(meeting: Meeting, user: User, by: User | None) -> None:
    """Bar the user from joining the meeting by its link (a membership deleted elsewhere, as in
    the admin, calls this too)."""
    Removal.objects.update_or_create(
        meeting=meeting, user=user, defaults={"removed_by": by, "removed_at": timezone.now()}
    )


def do_let_back_in(meeting: Meeting, user: User) -> bool:
    """A host lifts a removal: the join link works for the user again; False if none."""
    deleted, _ = Removal.objects.filter(meeting=meeting, user=user).delete()
    return bool(deleted)


def do_deactivate_user(user: User) -> None:
    """The account can no longer log in or use its tokens; its open sockets close."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        notify_access_changed_on_commit(user.pk)


def do_revoke_token(token: ApiToken) -> None:
    """The token stops working everywhere, open sockets included."""
    with transaction.atomic():
        token.revoke()
        notify_access_changed_on_commit(token.user_id)
