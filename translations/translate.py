"""Translating one segment into one language, once: the chat model's prompt and the claim.

A (segment, language) is translated by one server process at a time: the one that first
claims it in the cache, which is Redis (a key set only if absent, expiring in case that process
dies). Whoever
translates stores the result (:func:`.actions.do_store_translation`), which the database makes
unique and which reaches every listener of the language through its group.
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from django.core.cache import cache

from meetings.chat import ChatEndpoint, ChatFailed, complete, estimated_tokens
from meetings.languages import name
from meetings.models import Segment
from meetings.text import one_line

from .actions import do_store_translation
from .models import Translation

#: longer than a chat request may take with its retries (ChatEndpoint.timeout, 2 retries)
CLAIM_SECONDS = 400
#: how long an export waits for a translation another process is making
WAIT_SECONDS = 60.0


def translation_messages(text: str, source: str, target: str) -> list[dict[str, str]]:
    """The chat request: the caption alone as the user's message, the task as the system's."""
    source_name = f" from {name(source)}" if source and source != "auto" else ""
    system = (
        f"You translate live meeting captions{source_name} into {name(target)}. "
        "Answer with the translation of the user's message and nothing else: no quotes, "
        "notes or explanations. Keep names of people and products as they are."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def translate_text(endpoint: ChatEndpoint, text: str, source: str, target: str) -> str:
    """``text`` in ``target``, or ChatFailed."""
    answer = complete(
        endpoint,
        translation_messages(text, source, target),
        # room for a longer translation than the original, which may be short
        max_tokens=2 * estimated_tokens(text) + 64,
    )
    translated = " ".join(one_line(answer).split())  # a model's blank lines: one caption line
    if not translated:
        raise ChatFailed(f"The language model at {endpoint.host} gave an empty translation.")
    return translated


def translate_once(
    endpoint: ChatEndpoint, segment: Segment, language: str, *, wait: bool = False
) -> Translation | None:
    """The segment's stored translation into ``language``, translating it if none is (or
    the one stored is of its text before a correction). Sync: for views.

    None when another process is translating it right now (its listeners get it from that
    process), unless ``wait``: then this waits for that one, up to :data:`WAIT_SECONDS`.
    Raises ChatFailed when the chat endpoint fails.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if (stored := _current(segment, language)) is not None:
            return stored
        if _claim(segment.pk, language):
            break
        if not wait or time.monotonic() > deadline:
            return None
        time.sleep(0.5)
    try:
        # stored between the look and the claim by a process that has let go of it since
        if (stored := _current(segment, language)) is not None:
            return stored
        text = _translation_of(endpoint, segment, language)
        return do_store_translation(segment, language, text, endpoint.model)
    finally:
        _release(segment.pk, language)


async def translate_once_async(
    endpoint: ChatEndpoint, segment: Segment, language: str
) -> Translation | None:
    """:func:`translate_once` for the consumers (without ``wait``): the queries in the
    database thread, the chat request and Redis in a worker thread of their own, so a slow
    model holds up nobody's queries."""
    if (stored := await database_sync_to_async(_current)(segment, language)) is not None:
        return stored
    if not await asyncio.to_thread(_claim, segment.pk, language):
        return None
    try:
        if (stored := await database_sync_to_async(_current)(segment, language)) is not None:
            return stored
        text = await asyncio.to_thread(_translation_of, endpoint, segment, language)
        return await database_sync_to_async(do_store_translation)(
            segment, language, text, endpoint.model
        )
    finally:
        await asyncio.to_thread(_release, segment.pk, language)


def _current(segment: Segment, language: str) -> Translation | None:
    stored = Translation.objects.filter(segment=segment, language=language).first()
    return stored if stored is not None and stored.is_current(segment) else None


def _translation_of(endpoint: ChatEndpoint, segment: Segment, language: str) -> str:
    if segment.language == language:
        return one_line(segment.text)  # said in that language: nothing to ask
    return translate_text(endpoint, segment.text, segment.language, language)


def _key(segment_id: int, language: str) -> str:
    return f"translating:{segment_id}:{language}"


def _claim(segment_id: int, language: str) -> bool:
    # the cache is Redis, shared by every process (the embedded demo's is in its one process)
    return cache.add(_key(segment_id, language), 1, CLAIM_SECONDS)


def _release(segment_id: int, language: str) -> None:
    cache.delete(_key(segment_id, language))
