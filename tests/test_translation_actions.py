"""Storing a translation: once per segment and language, told to that language's group after
commit, through the real Redis channel layer."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from meetings import actions, events
from translations.actions import do_store_translation
from translations.models import Translation

pytestmark = pytest.mark.django_db


def test_it_stores_once_and_tells_the_language_group_after_commit(
    cast, django_capture_on_commit_callbacks
):
    segment = cast.factory.make_segment(cast.meeting, cast.bob, text="The budget.")
    layer = get_channel_layer()
    french, german = (async_to_sync(layer.new_channel)() for _ in range(2))
    async_to_sync(layer.group_add)(events.translation_group(cast.meeting.pk, "fr"), french)
    async_to_sync(layer.group_add)(events.translation_group(cast.meeting.pk, "de"), german)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stored = do_store_translation(segment, "fr", "Le budget.", "model-a")
    assert len(callbacks) == 1
    assert async_to_sync(layer.receive)(french) == {
        "type": "room.caption_translated",
        "event": {
            "type": "caption.translated",
            "item_id": segment.item_id,
            "segment_id": segment.pk,
            "language": "fr",
            "text": "Le budget.",
        },
    }

    # another process that translated the same text too: the first row stays, nobody is told
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = do_store_translation(segment, "fr", "Le Budget !", "model-b")
    assert callbacks == []
    assert (again.pk, again.text, again.model) == (stored.pk, "Le budget.", "model-a")

    # corrected since: the translation of the new text replaces it, and is told
    actions.do_correct_segment(segment, "The new budget.", cast.alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        newer = do_store_translation(segment, "fr", "Le nouveau budget.", "model-b")
    assert len(callbacks) == 1
    assert (newer.pk, newer.source_text) == (stored.pk, "The new budget.")
    assert async_to_sync(layer.receive)(french)["event"]["text"] == "Le nouveau budget."
    assert Translation.objects.filter(segment=segment).count() == 1

    # the German group heard none of it
    with pytest.raises(TimeoutError):
        async_to_sync(_receive_within)(layer, german, 0.5)


async def _receive_within(layer, channel, seconds):
    async with asyncio.timeout(seconds):
        return await layer.receive(channel)
