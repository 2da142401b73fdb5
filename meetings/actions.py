"""Write, then tell the room. Only these functions send to a room's group."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from .events import ACCESS_CHANGED, CaptionFinal, SpeakerInfo, handler_name, room_group, user_group
from .models import ApiToken, Meeting, Membership, Segment, User


def send_event_on_commit(meeting_id: int, event: Any) -> None:
    """Broadcast to the room once the surrounding transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(
            room_group(meeting_id), {"type": handler_name(event["type"]), "event": event}
        )

    transaction.on_commit(send)


async def send_event(meeting_id: int, event: Any) -> None:
    """Broadcast something that is not stored (partials, speech and presence events)."""
    layer = get_channel_layer()
    await layer.group_send(
        room_group(meeting_id), {"type": handler_name(event["type"]), "event": event}
    )


def caption_final_event(segment: Segment) -> CaptionFinal:
    speaker: SpeakerInfo = {"id": segment.speaker_id or 0, "name": segment.speaker_name}
    return {
        "type": "caption.final",
        "speaker": speaker,
        "item_id": segment.item_id,
        "segment_id": segment.pk,
        "text": segment.text,
        "start_ms": segment.start_ms,
        "end_ms": segment.end_ms,
        "confidence": segment.confidence,
        "language": segment.language,
    }


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
                send_event_on_commit(meeting.pk, caption_final_event(segment))
    except IntegrityError:
        # unique (meeting, item_id): stored by an earlier attempt
        segment = Segment.objects.get(meeting=meeting, item_id=item_id)
        if broadcast:
            send_event_on_commit(meeting.pk, caption_final_event(segment))
    return segment


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

    def send() -> None:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(user_group(user_id), {"type": ACCESS_CHANGED})

    transaction.on_commit(send)


def do_set_role(meeting: Meeting, user: User, role: str) -> Membership:
    """Add the user to the meeting with this role, or change the role they have."""
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            meeting=meeting, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
            notify_access_changed_on_commit(user.pk)
    return membership


def do_remove_member(meeting: Meeting, user: User) -> bool:
    """Take the user out of the meeting (the owner cannot be removed); True if they were in."""
    if user.pk == meeting.owner_id:
        raise ValueError("the owner of a meeting cannot be removed from it")
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(meeting=meeting, user=user).delete()
        if deleted:
            notify_access_changed_on_commit(user.pk)
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
