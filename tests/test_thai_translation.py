"""Thai among the translation languages: offered in the room, named in the prompt."""

from __future__ import annotations

import pytest

from tests.chat_server import API_KEY, MODEL
from translations.languages import is_offered, offered
from translations.translate import translation_messages

pytestmark = pytest.mark.django_db


def test_thai_is_offered_by_default():
    assert ("th", "Thai") in offered()
    assert is_offered("th")


def test_the_room_offers_thai(client, cast, settings):
    settings.LLM_BASE_URL, settings.LLM_MODEL, settings.LLM_API_KEY = "http://x/v1", MODEL, API_KEY
    client.force_login(cast.dave)
    page = client.get("/m/weekly-sync/").content.decode()
    assert '<option value="th">Thai</option>' in page


def test_a_thai_caption_is_translated_as_thai_and_kept_intact():
    caption = "ประชุมวันนี้เราจะคุยเรื่องงบประมาณ"
    system, user = translation_messages(caption, "th", "en")
    assert "from Thai into English" in system["content"]
    assert user["content"] == caption
    assert "into Thai" in translation_messages("The budget.", "en", "th")[0]["content"]
