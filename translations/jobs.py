"""Translating a whole transcript in the worker, for an export that asked for more than a
person should wait for (``manage.py transcription_worker`` runs it)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django_tasks import task

from meetings.chat import ChatFailed
from meetings.language_model import chat_endpoint
from meetings.models import Segment

from .translate import translate_once

logger = logging.getLogger(__name__)

#: how long one meeting's translation into one language counts as under way
UNDER_WAY_SECONDS = 30 * 60


def _under_way_key(meeting_id: int, language: str) -> str:
    return f"translating-transcript:{meeting_id}:{language}"


def queue_transcript_translation(meeting_id: int, segment_ids: list[int], language: str) -> bool:
    """Queue the translation of these segments; False when one is under way already."""
    if not cache.add(_under_way_key(meeting_id, language), 1, UNDER_WAY_SECONDS):
        return False
    translate_segments.enqueue(meeting_id, segment_ids, language)
    return True


@task()
def translate_segments(meeting_id: int, segment_ids: list[int], language: str) -> int:
    """Translate the segments into ``language``, each once (stored translations are kept);
    how many were done. Stops at the first failure of the chat endpoint: the next export asks
    again."""
    done = 0
    try:
        endpoint = chat_endpoint()
        if endpoint is None:
            return 0
        segments = Segment.objects.filter(pk__in=segment_ids).order_by("start_ms", "pk")
        for segment in segments.iterator():
            translate_once(endpoint, segment, language, wait=True)
            done += 1
    except ChatFailed as exc:
        logger.warning("translating meeting %s into %s stopped: %s", meeting_id, language, exc)
    finally:
        cache.delete(_under_way_key(meeting_id, language))
    return done
