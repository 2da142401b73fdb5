"""Exports with a translation (?translation=fr): stored translations; missing ones made once,
by the worker's job, never inside the request."""

from __future__ import annotations

import io
import json

import docx
import pytest
import srt
import webvtt

from meetings import actions
from tests.chat_server import API_KEY, MODEL, chat_server
from tests.test_exports import download
from tests.test_translation_glossary import captions_sent, reply, to_french
from translations.jobs import run_transcript_translation
from translations.models import TranscriptTranslation, Translation

pytestmark = pytest.mark.django_db

EXPORT = "/m/weekly-sync/transcript/export.json?translation=fr"


@pytest.fixture
def transcript(cast):
    make = cast.factory.make_segment
    cast.welcome = make(cast.meeting, cast.alice, text="Welcome, everyone.", start_ms=1_200)
    cast.budget = make(cast.meeting, cast.bob, text="The budget.", start_ms=3_000, end_ms=6_000)
    cast.item = make(cast.meeting, cast.alice, text="First item.", start_ms=7_000, end_ms=8_000)
    # translated live before: the export must use these as they are
    for segment in (cast.welcome, cast.budget):
        Translation.objects.create(
            segment=segment,
            language="fr",
            text=to_french(segment.text),
            source_text=segment.text,
            model=MODEL,
        )
    return cast


@pytest.fixture
def chat(settings):
    with chat_server(reply) as server:
        use_chat(settings, server)
        yield server


def use_chat(settings, server) -> None:
    settings.LLM_BASE_URL, settings.LLM_MODEL = server.base_url, MODEL
    settings.LLM_API_KEY = API_KEY


def run_queued_job(language: str = "fr") -> str:
    """What the worker does with the job an export queued, in this process."""
    job = TranscriptTranslation.objects.get(language=language)
    return run_transcript_translation.call(job.pk, job.run)


def translated_download(client, user, fmt, **params):
    """The export once the worker has made the missing translations: the first answer is 202."""
    client.force_login(user)
    url = f"/m/weekly-sync/transcript/export.{fmt}"
    assert client.get(url, params).status_code == 202
    assert run_queued_job(params["translation"]) == "done"
    return download(client, user, fmt, **params)


def test_the_export_asks_the_model_nothing_while_the_person_waits(client, transcript, chat):
    # before, the export translated the missing segment itself: a chat request in the request
    client.force_login(transcript.dave)
    response = client.get(EXPORT, HTTP_ACCEPT="application/json")
    assert chat.requests == []
    assert response.status_code == 202
    job = TranscriptTranslation.objects.get(meeting=transcript.meeting, language="fr")
    status_url = "http://testserver/m/weekly-sync/translations/fr/status.json"
    assert response.json() == {
        "job": {
            "id": job.pk,
            "language": "fr",
            "status": "queued",
            "done": 0,
            "total": 1,
            "progress": 0,
            "error": "",
            "status_url": status_url,
        },
        "message": "The transcript is being translated into French: 0 of 1 segments are done.",
    }
    # asking again finds the same job: nothing more queued, still nothing asked
    assert client.get(EXPORT, HTTP_ACCEPT="application/json").status_code == 202
    assert TranscriptTranslation.objects.get().run == 1

    assert run_queued_job() == "done"
    assert client.get(status_url).json()["job"] == {
        **response.json()["job"],
        "status": "done",
        "done": 1,
        "progress": 100,
    }
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert json.loads(response.content)["segments"][2]["translation"] == "premier point."
    assert captions_sent(chat) == ["First item."]


def test_a_browser_gets_a_page_that_asks_again_until_the_file_comes(client, transcript, chat):
    client.force_login(transcript.dave)
    response = client.get(EXPORT.replace(".json", ".srt"), HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 202
    assert response["Refresh"] == "10"
    page = response.content.decode()
    assert "The transcript is being translated into French: 0 of 1 segments are done." in page
    assert 'href="/m/weekly-sync/transcript/export.srt?translation=fr">export again</a>' in page
    assert chat.requests == []


def test_the_status_url_is_for_members_only(client, transcript, chat):
    client.force_login(transcript.dave)
    client.get(EXPORT)
    status_url = "/m/weekly-sync/translations/fr/status.json"
    client.logout()
    assert client.get(status_url).status_code == 302  # to the login page
    client.force_login(transcript.charlie)
    assert client.get(status_url).status_code == 403
    client.force_login(transcript.dave)
    assert client.get(status_url).json()["job"]["status"] == "queued"
    assert client.get("/m/weekly-sync/translations/de/status.json").status_code == 404


def test_json_gives_each_segment_its_translation_and_makes_a_missing_one_once(
    client, transcript, chat
):
    response = translated_download(client, transcript.dave, "json", translation="fr")
    assert 'filename="weekly-sync.fr.json"' in response["Content-Disposition"]
    segments = json.loads(response.content)["segments"]
    assert [s["text"] for s in segments] == ["Welcome, everyone.", "The budget.", "First item."]
    assert [s["translation"] for s in segments] == [
        "bienvenue, tout le monde.",
        "le budget.",
        "premier point.",
    ]
    # only the missing one was asked for, and it is kept for every later export and listener
    assert captions_sent(chat) == ["First item."]
    assert Translation.objects.get(segment=transcript.item, language="fr").model == MODEL
    download(client, transcript.dave, "txt", translation="fr")
    assert len(chat.requests) == 1


def test_a_segment_corrected_since_is_translated_again_once(client, transcript, chat):
    actions.do_correct_segment(transcript.budget, "The first budget.", transcript.alice)
    response = translated_download(client, transcript.dave, "json", translation="fr")
    segments = json.loads(response.content)
    assert segments["segments"][1]["translation"] == "le premier budget."
    assert captions_sent(chat) == ["The first budget.", "First item."]
    download(client, transcript.dave, "json", translation="fr")
    assert len(chat.requests) == 2
    assert Translation.objects.filter(segment=transcript.budget).count() == 1


def test_txt_and_docx_show_it_under_the_original_subtitles_are_in_the_language(
    client, transcript, chat
):
    rows = translated_download(client, transcript.dave, "txt", translation="fr").content.decode()
    assert "[0:01] Alice: Welcome, everyone.\n    bienvenue, tout le monde.\n" in rows

    body = download(client, transcript.dave, "docx", translation="fr").content
    paragraphs = [p.text for p in docx.Document(io.BytesIO(body)).paragraphs]
    at = paragraphs.index("[0:03] Bob: The budget.")
    assert paragraphs[at + 1] == "le budget."

    subtitles = download(client, transcript.dave, "srt", translation="fr").content.decode()
    cues = list(srt.parse(subtitles))
    assert [c.content for c in cues] == [
        "Alice: bienvenue, tout le monde.",
        "Bob: le budget.",
        "Alice: premier point.",
    ]
    vtt = download(client, transcript.dave, "vtt", translation="fr").content.decode()
    assert [c.text for c in webvtt.from_buffer(io.StringIO(vtt))] == [
        "bienvenue, tout le monde.",
        "le budget.",
        "premier point.",
    ]


def test_without_a_translation_the_exports_are_as_before(client, transcript):
    segments = json.loads(download(client, transcript.dave, "json").content)["segments"]
    assert all("translation" not in s for s in segments)
    assert "bienvenue" not in download(client, transcript.dave, "txt").content.decode()


def test_only_members_get_an_export_with_a_translation(client, transcript, chat):
    url = "/m/weekly-sync/transcript/export.json?translation=fr"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(transcript.charlie)
    assert client.get(url).status_code == 403
    assert not TranscriptTranslation.objects.exists()  # the outsider started nothing
    client.force_login(transcript.dave)  # a listener
    assert client.get(url).status_code == 202
    assert run_queued_job() == "done"
    assert client.get(url).status_code == 200
    assert captions_sent(chat) == ["First item."]


def test_a_language_not_offered_or_no_endpoint_is_refused_clearly(client, transcript, settings):
    settings.LLM_BASE_URL = ""
    client.force_login(transcript.dave)
    response = client.get("/m/weekly-sync/transcript/export.txt?translation=xx")
    assert response.status_code == 400
    assert "There is no translation into 'xx': choose one of" in response.content.decode()
    response = client.get("/m/weekly-sync/transcript/export.txt?translation=fr")
    assert response.status_code == 503
    assert response.content.decode() == (
        "1 segments have no French translation yet, and translation is not set up on this "
        "server to make them."
    )


def test_a_failing_chat_endpoint_refuses_the_export_and_says_why(client, transcript, chat):
    chat.failing = True
    client.force_login(transcript.dave)
    assert client.get(EXPORT).status_code == 202
    assert run_queued_job() == "failed"
    response = client.get(EXPORT)
    assert response.status_code == 503
    message = response.content.decode()
    assert message.startswith("Translating the transcript into French stopped: ")
    assert "answered with an error (HTTP 500)" in message
    assert "Traceback" not in message
    assert not Translation.objects.filter(segment=transcript.item).exists()


def test_the_transcript_page_offers_exports_in_the_languages_translated(client, transcript):
    client.force_login(transcript.dave)
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert "With the French translation:" in page
    assert "/m/weekly-sync/transcript/export.srt?translation=fr" in page
    assert "German translation" not in page


def test_the_room_says_how_to_turn_translation_on(client, transcript, settings):
    client.force_login(transcript.dave)
    settings.LLM_BASE_URL = ""
    page = client.get("/m/weekly-sync/").content.decode()
    assert 'id="translation-language" disabled aria-describedby="translation-off"' in page
    assert "Translation is not set up on this server. Set LLM_BASE_URL" in page
    settings.LLM_BASE_URL, settings.LLM_MODEL = "http://127.0.0.1:9/v1", MODEL
    page = client.get("/m/weekly-sync/").content.decode()
    assert '<select id="translation-language">' in page
    assert '<option value="fr">French</option>' in page
