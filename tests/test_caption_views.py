"""Caption settings on the account, and the caption links hosts make and revoke.

alice hosts, bob speaks, dave listens, charlie is an outsider (tests/base.py).
"""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from caption_views.models import CaptionLink, CaptionSettings
from meetings.models import hash_token

SETTINGS = "/captions/settings/"
LINKS = "/m/weekly-sync/caption-links/"


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/m/weekly-sync/")  # a page with a form: sets the CSRF cookie
    return client


def post_json(client: Client, body) -> tuple[int, dict]:
    token = client.cookies["csrftoken"].value
    response = client.post(
        SETTINGS,
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    return response.status_code, response.json()


def make_link(client: Client, label: str = "") -> str:
    """The raw token of a new link, as the host's page shows it once."""
    token = client.cookies["csrftoken"].value
    response = client.post(LINKS, {"label": label, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    url = response.context["new_url"]
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_it_saves_settings_on_the_account(cast):
    client = logged_in(cast.dave)
    assert CaptionSettings.as_dict_for(cast.dave)["saved"] is False
    status, saved = post_json(client, {"scheme": "high-contrast", "lines": 3, "size": 2.1})
    assert status == 200
    assert saved == {
        "size": 2.0,  # to the A−/A+ steps
        "scheme": "high-contrast",
        "font": "system",
        "spacing": "normal",
        "placement": "bottom",
        "lines": 3,
        "saved": True,
    }
    # a second change keeps the first
    status, saved = post_json(client, {"font": "readable", "lines": "all"})
    assert status == 200
    assert (saved["scheme"], saved["font"], saved["lines"]) == ("high-contrast", "readable", 0)
    # another device of the same person sees them
    other = Client()
    other.force_login(cast.dave)
    page = other.get("/m/weekly-sync/")
    assert b'<option value="high-contrast" selected>' in page.content
    assert b'"font": "readable"' in page.content


def test_it_refuses_bad_settings_and_keeps_the_saved_ones(cast):
    client = logged_in(cast.dave)
    post_json(client, {"scheme": "dark-on-light"})
    for body, named in [
        ({"scheme": "pink", "font": "serif"}, "scheme"),
        ({"lines": 11}, "lines"),
        ({"lines": True}, "lines"),
        ({"size": 9}, "size"),
        ({"size": "big"}, "size"),
        ({"colour": "red"}, "colour"),
    ]:
        status, reply = post_json(client, body)
        assert status == 400, body
        assert named in reply["errors"]
        assert reply["error"].startswith("Not saved:")
    for body in ("not json", "[1, 2]", "{}"):
        status, reply = post_json(client, body)
        assert (status, reply["error"]) == (400, "The body must be a JSON object of settings.")
    # nothing was lost, not even the good half of a refused change
    saved = CaptionSettings.as_dict_for(cast.dave)
    assert (saved["scheme"], saved["font"]) == ("dark-on-light", "system")


def test_it_saves_settings_only_for_a_logged_in_person_with_a_csrf_token(cast):
    assert Client().post(SETTINGS, "{}", content_type="application/json").status_code == 302
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.dave)
    response = client.post(SETTINGS, '{"lines": 2}', content_type="application/json")
    assert response.status_code == 403
    assert not CaptionSettings.objects.exists()


def test_only_hosts_make_list_and_revoke_links(cast):
    raw = make_link(logged_in(cast.alice), "Projector")
    link = CaptionLink.objects.get()
    assert (link.label, link.token_hash, link.created_by) == (
        "Projector",
        hash_token(raw),
        cast.alice,
    )
    assert raw not in str(CaptionLink.objects.values_list())  # only its hash is kept
    revoke = reverse("caption-views-revoke", args=["weekly-sync", link.pk])

    anonymous = Client()
    assert anonymous.get(LINKS).status_code == 302
    assert anonymous.post(revoke).status_code == 302
    for user, status in [(cast.charlie, 403), (cast.bob, 403), (cast.dave, 403)]:
        client = Client()
        client.force_login(user)
        assert client.get(LINKS).status_code == status
        assert client.post(LINKS, {"label": "mine"}).status_code == status
        assert client.post(revoke).status_code == status
    assert CaptionLink.objects.count() == 1
    assert CaptionLink.objects.active().count() == 1

    host = Client()
    host.force_login(cast.alice)
    page = host.get(LINKS)
    assert b"Projector" in page.content and link.prefix.encode() in page.content
    assert raw.encode() not in page.content  # shown once, when made
    assert host.post(revoke).status_code == 302
    assert CaptionLink.objects.active().count() == 0
    assert b"revoked" in host.get(LINKS).content


def test_a_host_cannot_revoke_another_meetings_link(cast):
    other = cast.factory.make_meeting(cast.charlie, title="Other", slug="other")
    link, _raw = CaptionLink.issue(other, cast.charlie)
    host = Client()
    host.force_login(cast.alice)
    response = host.post(reverse("caption-views-revoke", args=["weekly-sync", link.pk]))
    assert response.status_code == 404
    assert CaptionLink.objects.active().filter(pk=link.pk).exists()


def test_the_view_opens_without_login_until_revoked(cast):
    raw = make_link(logged_in(cast.alice))
    view = f"/captions/{raw}/"
    page = Client().get(view + "?background=transparent&lines=2&scheme=high-contrast&size=2")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-background="transparent"' in html
    assert 'data-caption-scheme="high-contrast"' in html
    assert f'data-ws-path="/ws/captions/{raw}/"' in html
    assert page["Referrer-Policy"] == "no-referrer"
    # nothing of the meeting but its captions: no names, title or controls
    for private in ("Weekly sync", "Alice", "Bob", "Dave", "<button", "<form"):
        assert private not in html

    bad = Client().get(view + "?lines=40&background=blue")
    assert bad.status_code == 400
    assert b"lines" in bad.content and b"background" in bad.content

    assert Client().get("/captions/cv_not-a-real-token/").status_code == 404
    CaptionLink.objects.get().revoke()
    gone = Client().get(view)
    assert gone.status_code == 404
    assert b"It was revoked by a host of the meeting, or it never existed." in gone.content


def test_a_label_with_a_control_character_is_refused_and_makes_no_link(cast):
    """A NUL in the label gave a 500 (PostgreSQL refuses it in the row); a line break or a
    bidirectional override would be shown on the hosts' page."""
    host = logged_in(cast.alice)
    token = host.cookies["csrftoken"].value
    for label in ["a\x00b", "two\nlines", "\u202eevil"]:
        response = host.post(LINKS, {"label": label, "csrfmiddlewaretoken": token})
        assert response.status_code == 400, label
        assert b"control character" in response.content or b"single line" in response.content
    assert not CaptionLink.objects.exists()
    make_link(host, "")  # a label is optional
