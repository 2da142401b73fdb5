"""Translating a whole transcript in the worker, for an export that asked for more than a
person should wait for (``manage.py transcription_worker`` runs it).

When it stops short its reason is kept for the meeting and language, and the next export says
it (:func:`take_failure`): the person who asked is the one who exports again.
"""

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
#: how long the reason a translation stopped waits for the next export
FAILURE_KEEP_SECONDS = 24 * 3600
#: for an error that is not the chat endpoint's: its text may name hosts, tables or values
UNEXPECTED = "an error on the server stopped it (it is logged for the operator)."


def _under_way_key(meeting_id: int, language: str) -> str:
    return f"translating-transcript:{meeting_id}:{language}"


def _failure_key(meeting_id: int, language: str) -> str:
    return f"translating-transcript-failed:{meeting_id}:{language}"


def queue_transcript_translation(meeting_id: int, segment_ids: list[int], language: str) -> bool:
    """Queue the translation of these segments; False when one is under way already."""
    if not cache.add(_under_way_key(meeting_id, language), 1, UNDER_WAY_SECONDS):
        return False
    translate_segments.enqueue(meeting_id, segment_ids, language)
    return True


def take_failure(meeting_id: int, language: str) -> str | None:
    """Why the last translation of the meeting into ``language`` stopped, for people; None if
    it did not. Told once: the next export asks for the translation again."""
    key = _failure_key(meeting_id, language)
    reason = cache.get(key)
    if reason is not None:
        cache.delete(key)
    return reason


@task()
def translate_segments(meeting_id: int, segment_ids: list[int], language: str) -> int:
    """Translate the segments into ``language``, each once (stored translations are kept);
    how many were done. Stops at the first failure, keeping its reason for the next export;
    an unexpected error is still raised, for the task's result and the worker's log."""
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
        # its message is for people already: it names no endpoint (meetings.chat)
        logger.warning("translating meeting %s into %s stopped: %s", meeting_id, language, exc)
        _keep_failure(meeting_id, language, str(exc))
    except Exception:
        _keep_failure(meeting_id, language, UNEXPECTED)
        raise
    finally:
        # after the failure is kept: an export in between would queue it again, unexplained
        cache.delete(_under_way_key(meeting_id, language))
    return done


def _keep_failure(meeting_id: int, language: str, reason: str) -> None:
    cache.set(_failure_key(meeting_id, language), reason, FAILURE_KEEP_SECONDS)
