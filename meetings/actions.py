"""Write, then tell the room. Only these functions send to a room's group."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from .events import CaptionFinal, SpeakerInfo, handler_name, room_group
from .models import Meeting, Segment, User


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
) -> Segment | None:
    """Store one final caption and, after commit, broadcast it to the room.

    Returns None when this item was stored already (an upstream replay).
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
        # unique (meeting, item_id): the same utterance came back after a reconnect
        return None
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
