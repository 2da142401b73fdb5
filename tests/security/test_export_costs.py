"""Nobody runs up the operator's chat costs through exports with a translation.

Before the fix every export with ``?translation=`` that found segments not translated yet had
them translated then (a chat request each), as often as anyone asked, past any budget. Now an
export that starts the worker's translation of them is counted; one that finds it under way,
or needs none, is not.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.chat_server import chat_server
from tests.test_translation_exports import run_queued_job, use_chat
from tests.test_translation_glossary import captions_sent, reply
from translations.models import Translation

pytestmark = pytest.mark.django_db

EXPORT = "/m/weekly-sync/transcript/export.json"


@pytest.fixture
def transcript(cast):
    """Three segments, the first two translated into French already."""
    make = cast.factory.make_segment
    for text in ["Welcome, everyone.", "The budget.", "First item."]:
        cast.item = make(cast.meeting, cast.alice, text=text)
        Translation.objects.create(
            segment=cast.item, language="fr", text=f"({text})", source_text=text
        )
    untranslate(cast)
    return cast


@pytest.fixture
def chat(settings):
    with chat_server(reply) as server:
        use_chat(settings, server)
        yield server


def export(user, **params):
    client = Client()
    client.force_login(user)
    return client.get(EXPORT, {"translation": "fr", **params})


def untranslate(cast) -> None:
    """The last segment loses its translation again (a host corrected it, say)."""
    Translation.objects.filter(segment=cast.item).delete()


def test_exports_that_translate_are_rate_limited_per_user_and_per_meeting(
    transcript, chat, settings
):
    settings.TRANSLATED_EXPORT_RATE_LIMIT = "2/h"
    for _ in range(2):
        assert export(transcript.dave).status_code == 202  # started: counted
        assert export(transcript.dave).status_code == 202  # found under way: not counted
        assert run_queued_job() == "done"
        assert export(transcript.dave).status_code == 200
        untranslate(transcript)
    refused = export(transcript.dave)
    assert refused.status_code == 429
    assert refused.content.decode() == (
        "1 segments have no French translation yet, and they cannot be made now: exports that "
        "translate can be asked for 2 per hour; try later."
    )
    # the meeting had its two: another member is refused too
    assert export(transcript.bob).status_code == 429
    assert captions_sent(chat) == ["First item.", "First item."]

    # what is translated already is exported as often as anyone likes
    Translation.objects.create(
        segment=transcript.item, language="fr", text="premier point.", source_text="First item."
    )
    for user in (transcript.dave, transcript.bob, transcript.dave):
        assert export(user).status_code == 200
    assert len(chat.requests) == 2


def test_an_export_past_the_budget_asks_nothing_and_says_so(transcript, chat, settings):
    settings.LLM_TOKENS_PER_MEETING = 1
    assert export(transcript.dave).status_code == 202
    assert run_queued_job() == "done"  # the first translation spends it
    untranslate(transcript)
    refused = export(transcript.dave)
    assert refused.status_code == 429
    assert refused.content.decode() == (
        "1 segments have no French translation yet, and they cannot be made now: This meeting "
        "has used its budget for translations and summaries (1 tokens), which the server's "
        "operator sets."
    )
    assert len(chat.requests) == 1
