"""Every `next` stays on this site.

Before the fix, `/accounts/signup/?next=https://evil.example/` sent the new user off-site.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "http://testserver@evil.example/",
    " https://evil.example/",
]


def signup(client, username: str, next_url: str):
    data = {
        "username": username,
        "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9",
    }
    return client.post("/accounts/signup/?" + f"next={next_url}".replace("&", "%26"), data)


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_signup_never_redirects_off_site(client, next_url):
    response = signup(client, "erin", next_url)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signup_follows_a_local_next(client, cast):
    response = signup(client, "erin", "/m/weekly-sync/join/abc/?x=1")
    assert response["Location"] == "/m/weekly-sync/join/abc/?x=1"


def test_a_logged_in_visitor_of_signup_stays_on_site(client, cast):
    client.force_login(cast.bob)
    assert client.get("/accounts/signup/?next=https://evil.example/")["Location"] == "/"
    assert client.get("/accounts/signup/?next=/search/")["Location"] == "/search/"


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_login_never_redirects_off_site(client, cast, next_url):
    response = client.post(
        "/accounts/login/", {"username": "bob", "password": "pw-bob", "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_from_a_join_link_comes_back_to_it(client, cast):
    join = f"/m/weekly-sync/join/{cast.meeting.join_code}/"
    response = client.get(join)
    assert response["Location"] == f"/accounts/login/?next={join}"
    response = client.post(
        "/accounts/login/", {"username": "charlie", "password": "pw-charlie", "next": join}
    )
    assert response["Location"] == join
    client.get(join)
    assert cast.meeting.role_of(cast.charlie) == "speaker"


def test_the_login_page_passes_only_a_safe_next_on_to_signup(client, db):
    page = client.get("/accounts/login/?next=https://evil.example/").content.decode()
    assert "evil.example" not in page
    page = client.get("/accounts/login/?next=/search/").content.decode()
    assert "/accounts/signup/?next=/search/" in page


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_logout_never_redirects_off_site(client, cast, next_url):
    client.force_login(cast.bob)
    response = client.post("/accounts/logout/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
