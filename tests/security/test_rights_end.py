"""Rights end everywhere at once: what was derived from a person's rights ends with them.

docs/SECURITY.md lists the derived credentials; each has a test here (the open sockets of the
person themselves are in test_revocation.py, the caption viewers' sockets in
test_caption_link_rights.py). alice owns the meeting, bob speaks (made a host where a test needs
a second one), dave listens, charlie is an outsider (tests/base.py).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import lxml.html
import numpy as np
import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client

from caption_views.models import CaptionLink
from meetings import actions
from meetings.models import ApiToken, Membership
from summaries.jobs import request_summary, run_summary_job
from tests.chat_server import chat_server
from tests.security.rights_changes import LOSSES, make_bob_host
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say, use
from transcription.batch.jobs import run_transcription_job
from transcription.engines.openai.batch import wav_bytes
from transcription.models import TranscriptionJob

pytestmark = pytest.mark.django_db

ROOM = "/m/weekly-sync/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Caption links -----------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_a_caption_link_ends_when_its_maker_may_no_longer_make_one(cast, loss):
    """Failed before the fix: the link's page still answered 200 after each of these."""
    make_bob_host(cast)
    _link, bobs = CaptionLink.issue(cast.meeting, cast.bob, "Bob's projector")
    _link, alices = CaptionLink.issue(cast.meeting, cast.alice, "Alice's projector")
    assert Client().get(f"/captions/{bobs}/").status_code == 200

    LOSSES[loss](cast)
    gone = Client().get(f"/captions/{bobs}/")
    assert gone.status_code == 404
    assert "whoever made it may no longer share" in gone.content.decode()
    assert Client().get(f"/captions/{alices}/").status_code == 200  # another host's goes on

    # the hosts see why it stopped, and may still revoke it for good
    page = logged_in(cast.alice).get(f"{ROOM}caption-links/").content.decode()
    assert "stopped: Bob is no longer a host of this meeting" in page
    assert page.count(">Revoke</button>") == 2


def test_a_superusers_caption_link_ends_with_their_superuser_status(cast):
    """Failed before the fix: a superuser hosts every meeting; the link outlived the status."""
    root = cast.factory.make_user("root", is_superuser=True)
    _link, raw = CaptionLink.issue(cast.meeting, root)
    assert Client().get(f"/captions/{raw}/").status_code == 200
    root.is_superuser = False
    root.save(update_fields=["is_superuser"])
    assert Client().get(f"/captions/{raw}/").status_code == 404


# --- Join links --------------------------------------------------------------------------


def join_url(cast) -> str:
    return f"{ROOM}join/{cast.meeting.join_code}/"


def let_back_in_form(host: Client, name: str) -> str:
    """The action of the room page's "Let back in" button for ``name``, as a browser sees it."""
    page = lxml.html.fromstring(host.get(ROOM).content)
    [button] = page.xpath(f'//button[@aria-label="Let {name} back in"]')
    return button.getparent().get("action")


def test_a_removed_member_does_not_walk_back_in_with_the_join_link(cast):
    """Failed before the fix: the join link's GET made dave a member again, as a speaker."""
    host = logged_in(cast.alice)
    host.post(f"{ROOM}participants/{cast.dave.pk}/remove/")
    dave = logged_in(cast.dave)

    refused = dave.get(join_url(cast), follow=True)
    assert "A host removed you from this meeting" in refused.content.decode()
    assert cast.meeting.role_of(cast.dave) is None
    assert dave.get(ROOM).status_code == 403
    # someone never removed still joins with the same link
    logged_in(cast.charlie).get(join_url(cast))
    assert cast.meeting.role_of(cast.charlie) == Membership.Role.SPEAKER

    # only a host lets him back in, with the button on the members list
    action = let_back_in_form(host, "Dave")
    assert logged_in(cast.bob).post(action).status_code == 403
    assert dave.get(join_url(cast)).status_code == 302
    assert cast.meeting.role_of(cast.dave) is None
    back = host.post(action, follow=True)
    assert "Dave may join again with the join link" in back.content.decode()
    assert 'aria-label="Let Dave back in"' not in back.content.decode()
    dave.get(join_url(cast))
    assert cast.meeting.role_of(cast.dave) == Membership.Role.SPEAKER


def test_inviting_a_removed_member_again_lets_them_back_in(cast):
    """Held before the fix (an invitation always worked); a guard that the bar does not stay."""
    host = logged_in(cast.alice)
    host.post(f"{ROOM}participants/{cast.dave.pk}/remove/")
    host.post(f"{ROOM}invite/", {"username": "dave", "role": "listener"})
    assert cast.meeting.role_of(cast.dave) == Membership.Role.LISTENER
    host.post(f"{ROOM}participants/{cast.dave.pk}/remove/")  # removed again: barred again
    logged_in(cast.dave).get(join_url(cast))
    assert cast.meeting.role_of(cast.dave) is None


def test_letting_back_in_someone_never_removed_is_a_404(cast):
    """New with the fix: there is no bar to lift, and nothing changes."""
    host = logged_in(cast.alice)
    response = host.post(f"{ROOM}participants/{cast.charlie.pk}/let-back-in/")
    assert response.status_code == 404
    assert cast.meeting.role_of(cast.charlie) is None


def test_a_removal_in_the_admin_is_remembered_too(admin_client, cast):
    """Failed before the fix: a membership deleted in the admin left the join link open."""
    url = f"/admin/meetings/meeting/{cast.meeting.pk}/change/"
    page = lxml.html.fromstring(admin_client.get(url).content)
    data: dict[str, list[str]] = {}
    for name, value in page.forms[-1].form_values():
        data.setdefault(name, []).append(value)
    row = next(i for i in range(3) if data[f"memberships-{i}-user"] == [str(cast.dave.pk)])
    data[f"memberships-{row}-DELETE"] = ["on"]
    assert admin_client.post(url, data).status_code == 302
    logged_in(cast.dave).get(join_url(cast))
    assert cast.meeting.role_of(cast.dave) is None


# --- API tokens ----------------------------------------------------------------------------


def test_a_deactivated_accounts_tokens_stop_working(client, cast):
    """Held before the fix (tokens are checked against the account on every use); a guard."""
    _token, raw = ApiToken.issue(cast.bob)
    bearer = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/jobs/1", headers=bearer).status_code == 404  # known, no such job
    actions.do_deactivate_user(cast.bob)
    assert client.get("/api/jobs/1", headers=bearer).status_code == 401


# --- Queued jobs -----------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_a_summary_asked_for_by_a_host_who_lost_the_right_is_not_written(cast, settings, loss):
    """Failed before the fix: the worker ran the job, and the operator paid for the model's
    answer, after the host who asked for it had lost the right to ask."""
    say(cast, SHORT_MEETING)
    make_bob_host(cast)
    with chat_server(minutes_model) as server:
        use(settings, server)
        summary = request_summary(cast.meeting, cast.bob)
        LOSSES[loss](cast)
        run_summary_job.call(summary.pk, summary.run)
    assert server.requests == []
    summary.refresh_from_db()
    assert summary.status == "failed"
    assert summary.error == (
        "Not written: Bob, who asked for it, is no longer a host of this meeting. "
        "A host may ask again."
    )


class TranscriptionsRecorder(http.server.BaseHTTPRequestHandler):
    """Stands in for OpenAI's /audio/transcriptions: counts what it is asked, answers 400."""

    paths: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.paths.append(self.path)
        body = b'{"error": {"message": "refused by the test", "type": "invalid_request_error"}}'
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def paid_endpoint(settings) -> Iterator[list[str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TranscriptionsRecorder)
    TranscriptionsRecorder.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield TranscriptionsRecorder.paths
    finally:
        server.shutdown()
        server.server_close()


JOB_LOSSES = {
    "paid engines withdrawn": lambda cast: cast.bob.user_permissions.remove(
        Permission.objects.get(codename="use_paid_engines")
    ),
    "deactivated": lambda cast: actions.do_deactivate_user(cast.bob),
}


@pytest.mark.parametrize("loss", JOB_LOSSES)
def test_a_queued_paid_job_does_not_run_once_its_asker_lost_the_right(client, cast, settings, loss):
    """Failed before the fix: the worker sent the audio to the paid engine anyway."""
    cast.bob.user_permissions.add(Permission.objects.get(codename="use_paid_engines"))
    settings.TRANSCRIBE_SYNC_MAX_SECONDS = 0  # a job for the worker
    _token, raw = ApiToken.issue(cast.bob)
    audio = ContentFile(wav_bytes(np.zeros(32000, np.float32)), name="a.wav")
    queued = client.post(
        "/api/audio/transcribe",
        {"file": audio, "engine": "openai"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert queued.status_code == 202
    job = TranscriptionJob.objects.get()
    JOB_LOSSES[loss](cast)
    with paid_endpoint(settings) as asked:
        run_transcription_job.call(job.pk)
    assert asked == []
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("Not run: the account that asked for it")
