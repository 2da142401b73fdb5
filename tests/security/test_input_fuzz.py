"""Every form and JSON endpoint, fed wrong types and hostile text: a 4xx that says why, or the
right 2xx/3xx, and nothing half-stored.

Before the fix, `POST /captions/settings/` answered 500 to a list or an object as a value
(`unhashable type`), to a number of 5,000 digits and to JSON nested too deep; a non-ASCII join
code, a `?version=²` on the transcript, a NUL in a search and an unknown batch `language` of
eleven letters were 500s too. The Django test client raises a view's exception, so a 500
fails the example that caused it.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caption_views.models import CaptionLink, CaptionSettings
from meetings.models import ApiToken, Meeting, Membership, Segment, User
from summaries.models import Summary
from transcription.engines.openai.batch import wav_bytes
from transcription.models import AudioUpload, TranscriptionJob

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What a test client can send in a form or a URL (no lone surrogates: they are not UTF-8).
NASTY = [
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\n",
    "\r\n",
    " ",
    "",
    "²",
    "٣",
    "１２",
    "-1",
    "0",
    "9" * 5000,
    "1e309",
    "NaN",
    "x" * 300,
    "x" * 20_001,
    "<script>alert(1)</script>",
    "{{ 7 }}",
    "../../etc/passwd",
    "auto",
    "en",
    "host",
    "é",
]
texts = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]), max_size=8),
    st.sampled_from(NASTY),
)
# JSON of every shape, as a client may send it
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(NASTY)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused_or_done(response, *done: int) -> bool:
    """True when the request was carried out (one of ``done``); else it must be a clear 4xx."""
    if response.status_code in done:
        return True
    assert 400 <= response.status_code < 500, response.status_code
    return False


def form_again(response) -> bool:
    """True for a page that shows the posted form again with what is wrong with it (a 200,
    as Django's own forms answer); else the post must have been carried out (a redirect)."""
    if response.status_code == 302:
        return False
    assert response.status_code in (200, 400), response.status_code
    assert response.context["form"].errors
    return True


# --- Caption settings (JSON) ------------------------------------------------------------

SETTINGS = "/captions/settings/"


@pytest.mark.parametrize(
    "body",
    [
        '{"scheme": ["x"]}',
        '{"font": {"a": 1}}',
        '{"spacing": [], "placement": {}}',
        '{"lines": [2]}',
        '{"background": ["transparent"]}',
        '{"lines": 1' + "0" * 5000 + "}",
        '{"size": ' + "9" * 5000 + "}",
        '{"scheme": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"scheme": "\\ud800"}',
        '{"\\u0000": "default"}',
    ],
)
def test_caption_settings_refuse_any_shape_with_a_400(cast, body):
    client = logged_in(cast.dave)
    response = client.post(SETTINGS, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]
    assert not CaptionSettings.objects.exists()


@FUZZ
@given(
    values=json_values | st.dictionaries(st.sampled_from(["scheme", "lines", "size"]), json_values)
)
def test_caption_settings_save_what_is_valid_and_keep_the_rest(cast, values):
    client = logged_in(cast.dave)
    before = CaptionSettings.as_dict_for(cast.dave)
    response = client.post(SETTINGS, json.dumps(values), content_type="application/json")
    if refused_or_done(response, 200):
        assert response.json() == CaptionSettings.as_dict_for(cast.dave)
    else:
        assert response.json()["error"]
        assert CaptionSettings.as_dict_for(cast.dave) == before


@FUZZ
@given(name=st.sampled_from(["lines", "size", "scheme", "background", "font", "x"]), value=texts)
def test_a_caption_links_options_are_a_page_or_a_400(cast, name, value):
    _link, raw = CaptionLink.issue(cast.meeting, cast.alice, "")
    response = Client().get(f"/captions/{raw}/", {name: value})
    refused_or_done(response, 200)


# --- Accounts ---------------------------------------------------------------------------


@FUZZ
@given(username=texts, display_name=texts, password=texts, next_url=texts)
def test_signup_makes_an_account_or_says_why_not(db, username, display_name, password, next_url):
    users = User.objects.count()
    response = Client().post(
        "/accounts/signup/",
        {
            "username": username,
            "display_name": display_name,
            "password1": password,
            "password2": password,
            "next": next_url,
        },
    )
    if form_again(response):
        assert User.objects.count() == users


@FUZZ
@given(username=texts, password=texts)
def test_login_logs_in_or_says_why_not(cast, username, password):
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    if response.status_code == 429:  # login throttling: five failures for one name and address
        assert b"Too many wrong passwords" in response.content
        return
    if form_again(response):
        assert "_auth_user_id" not in response.client.session


@FUZZ
@given(display_name=texts, watch_words=texts, notify=texts)
def test_the_profile_is_saved_whole_or_not_at_all(cast, display_name, watch_words, notify):
    client = logged_in(cast.bob)
    before = User.objects.values().get(pk=cast.bob.pk)
    response = client.post(
        "/accounts/profile/",
        {"display_name": display_name, "watch_words": watch_words, "mention_notifications": notify},
    )
    if form_again(response):
        assert User.objects.values().get(pk=cast.bob.pk) == before


# --- Meetings ---------------------------------------------------------------------------


@FUZZ
@given(title=texts, language=texts, glossary=texts, scheduled_for=texts)
def test_a_new_meeting_is_made_whole_or_not_at_all(cast, title, language, glossary, scheduled_for):
    meetings = Meeting.objects.count()
    response = logged_in(cast.bob).post(
        "/meetings/new/",
        {
            "title": title,
            "language": language,
            "glossary": glossary,
            "scheduled_for": scheduled_for,
        },
    )
    if form_again(response):
        assert Meeting.objects.count() == meetings


@FUZZ
@given(text=texts, version=texts)
def test_a_correction_is_saved_or_refused(cast, text, version):
    segment = cast.factory.make_segment(cast.meeting, cast.bob, text="As it was said.")
    response = logged_in(cast.alice).post(
        f"/m/weekly-sync/segments/{segment.pk}/correct/", {"text": text, "version": version}
    )
    if not refused_or_done(response, 302):
        segment.refresh_from_db()
        assert segment.text == "As it was said."


@FUZZ
@given(old=texts, new=texts, version=texts)
def test_a_rename_is_done_or_refused(cast, old, new, version):
    cast.factory.make_segment(cast.meeting, cast.bob)
    response = logged_in(cast.alice).post(
        "/m/weekly-sync/speakers/rename/", {"old_name": old, "new_name": new, "version": version}
    )
    if not refused_or_done(response, 302):
        assert set(Segment.objects.values_list("speaker_name", flat=True)) == {"Bob"}


@FUZZ
@given(username=texts, role=texts, user_id=st.integers(min_value=0, max_value=10**30))
def test_membership_forms_change_nothing_they_should_not(cast, username, role, user_id):
    roles = set(Membership.objects.values_list("user_id", "role"))
    host = logged_in(cast.alice)
    refused_or_done(host.post("/m/weekly-sync/invite/", {"username": username, "role": role}), 302)
    refused_or_done(host.post(f"/m/weekly-sync/participants/{user_id}/role/", {"role": role}), 302)
    valid_roles = set(Membership.Role.values)
    after = set(Membership.objects.values_list("user_id", "role"))
    assert all(r in valid_roles for _, r in after)
    if role not in valid_roles:
        assert after == roles


@FUZZ
@given(query=texts, version=texts, compare=texts, translation=texts, code=texts)
def test_pages_that_read_the_query_string_answer(cast, query, version, compare, translation, code):
    client = logged_in(cast.dave)
    cast.factory.make_segment(cast.meeting, cast.bob)
    refused_or_done(client.get("/search/", {"q": query}), 200)
    transcript = client.get("/m/weekly-sync/transcript/", {"version": version, "compare": compare})
    refused_or_done(transcript, 200)
    export = client.get(
        "/m/weekly-sync/transcript/export.srt", {"version": version, "translation": translation}
    )
    refused_or_done(export, 200)
    status = client.get(f"/m/weekly-sync/translations/{quote(translation, safe='')}/status.json")
    refused_or_done(status)  # no translation job: 404, whatever the language is
    # 301: a code with "?" or "#" in it leaves a path without its slash, which Django adds
    refused_or_done(client.get(f"/m/weekly-sync/join/{code or 'x'}/"), 301, 302)
    assert Membership.objects.filter(user=cast.charlie).count() == 0


# --- Summaries --------------------------------------------------------------------------


@FUZZ
@given(text=texts, decisions=texts, owner=texts, task=texts)
def test_a_summary_edit_is_saved_whole_or_not_at_all(cast, text, decisions, owner, task):
    Summary.objects.update_or_create(
        meeting=cast.meeting,
        defaults={"status": "done", "text": "As written.", "decisions": [], "action_items": []},
    )
    response = logged_in(cast.alice).post(
        "/m/weekly-sync/summary/edit/",
        {"text": text, "decisions": decisions, "owner_1": owner, "task_1": task},
    )
    if not refused_or_done(response, 302):
        assert Summary.objects.get().text == "As written."


# --- The batch API ----------------------------------------------------------------------

SECOND_OF_SILENCE = wav_bytes(np.zeros(16000, np.float32))


@FUZZ
@given(
    engine=texts | st.just("local"),
    language=texts,
    response_format=texts | st.just("srt"),
    name=texts,
    job_format=texts,
)
def test_the_batch_api_starts_a_job_or_says_why_not(
    cast, settings, engine, language, response_format, name, job_format
):
    settings.TRANSCRIBE_SYNC_MAX_SECONDS = 0  # a job for the worker: no model runs here
    _token, raw = ApiToken.issue(cast.bob)
    client = Client()
    jobs, uploads = TranscriptionJob.objects.count(), AudioUpload.objects.count()
    response = client.post(
        "/api/audio/transcribe",
        {
            "file": ContentFile(SECOND_OF_SILENCE, name=name or "a.wav"),
            "engine": engine,
            "language": language,
            "response_format": response_format,
        },
        headers={"Authorization": f"Bearer {raw}"},
    )
    if refused_or_done(response, 202):
        job = TranscriptionJob.objects.get(pk=response.json()["job"]["id"])
        status = client.get(f"/api/jobs/{job.pk}", {"response_format": job_format, "token": raw})
        refused_or_done(status, 200)
    else:
        assert response.json()["error"]["message"]
        assert TranscriptionJob.objects.count() == jobs
        assert AudioUpload.objects.count() == uploads
