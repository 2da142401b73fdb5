"""Storing a translation, then telling the connections that chose its language.

Like :mod:`meetings.actions`, whose helpers send for it: only the functions here tell the
language's group, and a stored translation is announced once its transaction commits.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from meetings import events
from meetings.actions import send_now, send_on_commit
from meetings.models import Segment

from .models import Translation

#: channel-layer message to a language's group: translating its captions failed
TRANSLATION_FAILED = "room.translation_failed"


def do_store_translation(segment: Segment, language: str, text: str, model: str) -> Translation:
    """Keep ``text`` as the segment's translation and send it to those who chose ``language``.

    The unique (segment, language) row makes this once, whatever else runs: when another
    process stored a translation of the same text first, that one is returned and nothing is
    sent again. One of the segment's text before a correction is replaced.
    """
    with transaction.atomic():
        translation, created = Translation.objects.select_for_update().get_or_create(
            segment=segment,
            language=language,
            defaults={"text": text, "source_text": segment.text, "model": model},
        )
        if not created:
            if translation.is_current(segment):
                return translation
            translation.text, translation.source_text, translation.model = text, segment.text, model
            translation.created_at = timezone.now()
            translation.save(update_fields=["text", "source_text", "model", "created_at"])
        event = events.caption_translated(segment, language, text)
        group = events.translation_group(segment.meeting_id, language)
        send_on_commit(group, {"type": events.handler_name(event["type"]), "event": event})
    return translation


async def announce_translation_failed(meeting_id: int, language: str, message: str) -> None:
    """Tell those who chose ``language`` that its captions are not translated now."""
    await send_now(
        events.translation_group(meeting_id, language),
        {
            "type": TRANSLATION_FAILED,
            "event": events.error_event("translation_failed", message),
            "language": language,
        },
    )
