"""Translating one segment into one language, once: the chat model's prompt and the claim.

A (segment, language) is translated by one server process at a time: the one that first
claims it in the cache, which is Redis (a key set only if absent, expiring in case that process
dies). The claim is let go only when the chat call has ended, stored or failed: never because
whoever waited for it went away. Whoever translates stores the result
(:func:`.actions.do_store_translation`), which the database makes unique and which reaches every
listener of the language through its group. Each call counts against the meeting's and the day's
budget of chat tokens (:mod:`meetings.budget`), and is refused once one is spent.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.core.cache import cache

from chat.client import ChatEndpoint, ChatFailed, Meter, complete, estimated_tokens
from meetings.budget import ChatMeter
from meetings.languages import name
from meetings.models import Segment
from meetings.text import model_text, one_line

from .actions import do_store_translation
from .models import Translation

#: longer than a chat request may take with its retries (ChatEndpoint.timeout, 2 retries)
CLAIM_SECONDS = 400

# The consumers' chat calls wait for the model in threads of their own: a slow model then holds
# up no other work of the event loop's default threads (claims, Redis, other rooms).
_chat_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="chat")
#: the calls under way in this process; a task nobody refers to could be collected mid-call
_under_way: set[asyncio.Task] = set()


def translation_messages(text: str, source: str, target: str) -> list[dict[str, str]]:
    """The chat request: the caption alone as the user's message, the task as the system's."""
    source_name = f" from {name(source)}" if source and source != "auto" else ""
    system = (
        f"You translate live meeting captions{source_name} into {name(target)}. "
        "Answer with the translation of the user's message and nothing else: no quotes, "
        "notes or explanations. Keep names of people and products as they are."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def translate_text(
    endpoint: ChatEndpoint, text: str, source: str, target: str, meter: Meter | None = None
) -> str:
    """``text`` in ``target``, or ChatFailed."""
    answer = complete(
        endpoint,
        translation_messages(text, source, target),
        # room for a longer translation than the original, which may be short
        max_tokens=2 * estimated_tokens(text) + 64,
        meter=meter,
    )
    # cleaned as every model's text is (meetings.text.model_text), then one caption line
    translated = " ".join(one_line(model_text(answer)).split())
    if not translated:
        raise ChatFailed("The language model gave an empty translation.")
    return translated


def translate_once(
    endpoint: ChatEndpoint,
    segment: Segment,
    language: str,
    *,
    claimant: str | None = None,
) -> Translation | None:
    """The segment's stored translation into ``language``, translating it if none is (or
    the one stored is of its text before a correction). Sync: for jobs (a request never
    calls the chat model: exports leave it to the worker).

    None when another process is translating it right now (its listeners get it from that
    process). A claim held under the same ``claimant`` is this caller's own: a job run again
    after its worker died takes over the claims the dead run left. Raises ChatFailed when the
    chat endpoint fails.
    """
    if (stored := _current(segment, language)) is not None:
        return stored
    if not _claim(segment.pk, language, claimant):
        return None
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
    """:func:`translate_once` for the consumers: the queries in the
    database thread, the chat request in a thread of its own, so a slow model holds up nobody's
    queries.

    Claiming, translating and letting go run as a task of their own, which a cancelled caller
    (a listener choosing a language again) does not stop: the chat call goes on in its thread
    whatever becomes of the caller, so letting go of the claim then would let the next caller
    ask for the same translation again.
    """
    if (stored := await database_sync_to_async(_current)(segment, language)) is not None:
        return stored
    call = asyncio.create_task(_claim_and_translate(endpoint, segment, language))
    _under_way.add(call)
    call.add_done_callback(_call_ended)
    return await asyncio.shield(call)


async def _claim_and_translate(
    endpoint: ChatEndpoint, segment: Segment, language: str
) -> Translation | None:
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(_chat_threads, _claim, segment.pk, language):
        return None
    try:
        if (stored := await database_sync_to_async(_current)(segment, language)) is not None:
            return stored
        text = await loop.run_in_executor(
            _chat_threads, _translation_of, endpoint, segment, language
        )
        return await database_sync_to_async(do_store_translation)(
            segment, language, text, endpoint.model
        )
    finally:
        await loop.run_in_executor(_chat_threads, _release, segment.pk, language)


def _call_ended(call: asyncio.Task) -> None:
    _under_way.discard(call)
    if not call.cancelled():
        call.exception()  # told to the caller, if it still waits; not "never retrieved"


def _current(segment: Segment, language: str) -> Translation | None:
    stored = Translation.objects.filter(segment=segment, language=language).first()
    return stored if stored is not None and stored.is_current(segment) else None


def _translation_of(endpoint: ChatEndpoint, segment: Segment, language: str) -> str:
    if segment.language == language:
        return one_line(segment.text)  # said in that language: nothing to ask
    meter = ChatMeter(segment.meeting_id)
    return translate_text(endpoint, segment.text, segment.language, language, meter)


def _key(segment_id: int, language: str) -> str:
    return f"translating:{segment_id}:{language}"


def _claim(segment_id: int, language: str, claimant: str | None = None) -> bool:
    # the cache is Redis, shared by every process (the embedded demo's is in its one process)
    key = _key(segment_id, language)
    if cache.add(key, claimant or 1, CLAIM_SECONDS):
        return True
    return claimant is not None and cache.get(key) == claimant


def _release(segment_id: int, language: str) -> None:
    cache.delete(_key(segment_id, language))
