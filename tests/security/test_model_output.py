"""What a model writes is stored cleaned, and a job whose result cannot be stored ends failed
with a reason, never "running" for good.

Before the fix a NUL in the chat model's JSON answer made PostgreSQL refuse the summary's row
outside the job's error handling: the summary stayed "running, part 1 of 1" and the button to
ask again was hidden. The storing failures below are real: a PostgreSQL trigger refuses the
finished row, as a full disk or a lost connection would.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from meetings.language_model import chat_endpoint
from meetings.models import Recording
from meetings.text import model_text
from summaries.jobs import UNEXPECTED
from tests.chat_server import chat_server
from tests.recordings import make_recording
from tests.test_summaries import SHORT_MEETING, say, summarise_now, use
from transcription.batch.jobs import run_transcription_job, start_job
from translations.translate import translate_once

pytestmark = pytest.mark.django_db

HOSTILE = "Plan\x00ned \ud800the\u202e launch\x1b[31m.\r\nNext line\x7f."


def hostile_minutes(body: dict) -> str:
    return json.dumps(
        {
            "summary": HOSTILE,
            "decisions": ["Ship\x00 it", "\x00"],
            "action_items": [{"owner": "Bob\x00", "task": "Write\x0bthe notes\x00"}],
        }
    )


def refuse_finished_rows(table: str) -> None:
    """Make PostgreSQL refuse any write that marks a row of ``table`` done."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION pg_temp.refuse_done() RETURNS trigger AS $$
            BEGIN
                IF NEW.status = 'done' THEN RAISE EXCEPTION 'could not write: disk full'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_done BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_done()"
        )


def test_model_text_keeps_lines_and_drops_every_control():
    assert model_text(HOSTILE) == "Planned the launch[31m.\nNext line."
    assert model_text("a\tb\u2028c") == "a\tb\nc"


def test_a_nul_in_the_models_answer_is_taken_out_and_the_summary_written(cast, settings):
    say(cast, SHORT_MEETING)
    with chat_server(hostile_minutes) as server:
        use(settings, server)
        summary = summarise_now(cast)
    assert summary.status == "done", summary.error
    assert summary.text == "Planned the launch[31m.\nNext line."
    assert summary.decisions == ["Ship it"]
    assert summary.action_items == [{"owner": "Bob", "task": "Write the notes"}]
    page = Client()
    page.force_login(cast.alice)
    assert "Planned the launch" in page.get("/m/weekly-sync/transcript/").content.decode()


def test_a_summary_that_cannot_be_stored_ends_failed_and_can_be_asked_again(cast, settings):
    say(cast, SHORT_MEETING)
    refuse_finished_rows("summaries_summary")
    with chat_server(hostile_minutes) as server:
        use(settings, server)
        summary = summarise_now(cast)
        assert (summary.status, summary.error) == ("failed", UNEXPECTED)
        host = Client()
        host.force_login(cast.alice)
        page = host.get("/m/weekly-sync/transcript/").content.decode()
        assert "The summary could not be written" in page
        assert "Summarise again" in page
        assert host.post("/m/weekly-sync/summary/request/").status_code == 302
    summary.refresh_from_db()
    assert (summary.status, summary.run) == ("queued", 2)


def test_a_transcription_job_whose_result_cannot_be_stored_ends_failed(cast, whisper):
    # whisper: the batch job runs the real local engine (there is no scripted batch engine)
    make_recording(cast.meeting, cast.bob, b"\x00\x00" * 16000)
    assert Recording.objects.count() == 1
    job = start_job(engine="local", meeting=cast.meeting, created_by=cast.alice)
    refuse_finished_rows("transcription_transcriptionjob")
    assert run_transcription_job.call(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed"
    assert "could not write: disk full" in job.error
    assert job.finished_at is not None
    assert not cast.meeting.versions.exists()  # no half-stored transcript version


def test_a_translation_with_controls_is_stored_as_one_clean_line(cast, settings):
    segment = cast.factory.make_segment(cast.meeting, cast.bob, text="Hello everyone.")
    with chat_server(lambda body: "Bonjour\x00 tout\ud800 le\u202e monde.\r\n") as server:
        use(settings, server)
        translation = translate_once(chat_endpoint(), segment, "fr")
    assert translation is not None
    translation.refresh_from_db()
    assert translation.text == "Bonjour tout le monde."
