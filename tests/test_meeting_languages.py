"""Meetings offer the languages this server's live engine can caption, and say when it cannot.

This server runs the bundled Whisper tiny.en, which is English-only: the form offers English
alone, refuses Thai and `auto` in words, and the room of a Thai meeting says so near the
microphone. The OpenAI engine (built from the settings; nothing is sent to OpenAI) is
multilingual: every Whisper language by name, and "Detect automatically".

With the multilingual extra's Whisper base (`LOCAL_WHISPER_MODEL=multilingual-base`) the
local engine offers every Whisper language and detection too; Thai captioned in Thai by it is
tests/live/test_thai_captions.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import lxml.html
import numpy as np
from django.test import override_settings
from faster_whisper.tokenizer import _LANGUAGE_CODES

from meetings.models import Meeting
from transcription.engine_factory import engine_config, transcribable_languages
from transcription.engines.local.decode import start_tokens
from transcription.engines.local.engine import LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots, languages_of, realtime_model, tokenizer
from transcription.engines.openai.realtime import OpenAIRealtimeEngine

THAI_REFUSED = (
    "This server's speech model transcribes English only: captions in Thai (th) need a "
    "multilingual model or another engine"
)


def stand_in_model(multilingual: bool) -> SimpleNamespace:
    """Not a model: only the CTranslate2 flag that `languages_of` reads."""
    return SimpleNamespace(model=SimpleNamespace(is_multilingual=multilingual))


def language_options(client) -> list[tuple[str, str]]:
    page = lxml.html.fromstring(client.get("/meetings/new/").content)
    return [
        (o.get("value"), o.text_content()) for o in page.xpath("//select[@id='id_language']/option")
    ]


def errors(response) -> str:
    page = lxml.html.fromstring(response.content)
    return " ".join(e.text_content() for e in page.xpath("//*[@id='id_language_error']"))


def test_the_bundled_model_transcribes_english_alone(whisper):
    languages = LocalRealtimeEngine(engine_config("local"), DecodeSlots()).languages()
    assert languages.codes == {"en"}
    assert not languages.detects


def test_a_multilingual_model_transcribes_whispers_languages_and_detects():
    languages = languages_of(stand_in_model(multilingual=True))
    assert languages.codes == set(_LANGUAGE_CODES)
    assert {"th", "en", "zh"} <= languages.codes
    assert languages.detects
    assert languages_of(stand_in_model(multilingual=False)).codes == {"en"}


def test_the_openai_engine_is_multilingual():
    languages = OpenAIRealtimeEngine(engine_config("openai")).languages()
    assert languages.codes == set(_LANGUAGE_CODES)
    assert languages.detects


def test_it_offers_english_alone_on_this_server(client, cast):
    client.force_login(cast.alice)
    assert language_options(client) == [("en", "English (en)")]
    page = client.get("/meetings/new/").content.decode()
    assert "transcribes English only" in page


def test_it_refuses_thai_and_detection_in_words(client, cast):
    client.force_login(cast.alice)
    response = client.post("/meetings/new/", {"title": "Thai class", "language": "th"})
    assert response.status_code == 200
    assert THAI_REFUSED in errors(response)
    response = client.post("/meetings/new/", {"title": "Thai class", "language": "auto"})
    assert "cannot detect the language" in errors(response)
    response = client.post("/meetings/new/", {"title": "Thai class", "language": "xx"})
    assert errors(response) == "Choose a language from the list."
    assert not Meeting.objects.filter(title="Thai class").exists()

    response = client.post("/meetings/new/", {"title": "Thai class", "language": "en"})
    assert response.status_code == 302
    assert Meeting.objects.get(title="Thai class").language == "en"


@override_settings(TRANSCRIPTION_ENGINE="openai")
def test_with_a_multilingual_engine_it_offers_every_language_and_detection(client, cast):
    client.force_login(cast.alice)
    options = language_options(client)
    assert options[:2] == [("en", "English (en)"), ("auto", "Detect automatically")]
    assert ("th", "Thai (th)") in options
    assert ("zh", "Chinese (zh)") in options
    names = [label for _, label in options[2:]]
    assert names == sorted(names)
    assert len(options) == len(_LANGUAGE_CODES) + 1

    client.post("/meetings/new/", {"title": "Thai class", "language": "th"})
    client.post("/meetings/new/", {"title": "Anything", "language": "auto"})
    assert Meeting.objects.get(title="Thai class").language == "th"
    assert Meeting.objects.get(title="Anything").language == "auto"


def test_with_the_multilingual_model_it_offers_thai_and_detection(client, cast, whisper, settings):
    settings.LOCAL_WHISPER_MODEL = "multilingual-base"
    client.force_login(cast.alice)
    options = language_options(client)
    assert options[:2] == [("en", "English (en)"), ("auto", "Detect automatically")]
    assert ("th", "Thai (th)") in options
    assert len(options) == len(_LANGUAGE_CODES) + 1
    assert "transcribes English only" not in client.get("/meetings/new/").content.decode()

    response = client.post("/meetings/new/", {"title": "Thai class", "language": "th"})
    assert response.status_code == 302
    meeting = Meeting.objects.get(title="Thai class")
    assert meeting.language == "th"
    assert "language-warning" not in client.get(f"/m/{meeting.slug}/").content.decode()


def test_the_room_of_a_thai_meeting_says_it_needs_another_model(client, cast):
    cast.factory.make_meeting(cast.alice, title="Thai class", slug="thai-class", language="th")
    client.force_login(cast.alice)
    page = lxml.html.fromstring(client.get("/m/thai-class/").content)
    [warning] = page.xpath("//*[@id='language-warning']")
    text = " ".join(warning.text_content().split())
    assert "Captions in Thai (th) need another speech model or engine." in text
    assert "transcribes English only, so speech here is captioned as English" in text
    assert "docs/OPERATIONS.md, “Meeting languages”" in text
    # read with the microphone button, and right before it
    [start] = page.xpath("//button[@id='mic-start']")
    assert start.get("aria-describedby") == "language-warning"
    assert warning.getnext().get("class") == "mic-controls"

    with override_settings(CAPTIONS_DOCS_URL="https://example.org/captions/docs"):
        page = lxml.html.fromstring(client.get("/m/thai-class/").content)
    [link] = page.xpath("//*[@id='language-warning']//a")
    assert link.get("href") == "https://example.org/captions/docs/OPERATIONS.md#meeting-languages"

    with override_settings(TRANSCRIPTION_ENGINE="openai"):
        page = client.get("/m/thai-class/").content.decode()
    assert "language-warning" not in page


def test_an_english_meeting_has_no_warning(client, cast):
    client.force_login(cast.bob)
    assert "language-warning" not in client.get("/m/weekly-sync/").content.decode()


def test_the_english_only_model_says_its_finals_are_english(whisper):
    config = engine_config("local")
    model, tok = realtime_model(config), tokenizer(config)
    silence = np.zeros(16000, np.float32)
    for language in ("th", None, "en"):
        assert start_tokens(model, tok, silence, language) == ([tok.sot], "en")


def test_the_answer_is_asked_of_the_model_once_per_process(whisper):
    assert transcribable_languages() is transcribable_languages()
