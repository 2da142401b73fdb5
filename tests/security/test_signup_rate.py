"""Sign-ups are limited per client address, with a friendly 429 that keeps what was typed.

Before the fix, one address could create accounts as fast as it could post the form. The
counts live in the Redis cache shared by everything: never clear it here; each test uses an
address of its own and a small limit.
"""

from __future__ import annotations

import secrets

import pytest
from django.test import RequestFactory, override_settings
from django_ratelimit.core import get_usage

from meetings.models import User

pytestmark = pytest.mark.django_db

LIMIT = "2/h"


def fresh_address() -> str:
    """An address nothing has counted yet, whose hour-long window has long enough to run."""
    while True:
        address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
        request = RequestFactory().post("/accounts/signup/", REMOTE_ADDR=address)
        usage = get_usage(request, group="accounts-signup", key="ip", rate=LIMIT, method="POST")
        if usage["count"] == 0 and usage["time_left"] > 600:
            return address


def signup(client, username: str, address: str):
    data = {
        "username": username,
        "display_name": f"{username.title()} Q.",
        "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9",
    }
    return client.post("/accounts/signup/", data, REMOTE_ADDR=address)


@override_settings(SIGNUP_RATE_LIMIT=LIMIT)
def test_it_limits_signups_per_address(client):
    address = fresh_address()
    assert signup(client, "erin", address).status_code == 302
    client.logout()
    assert signup(client, "frank", address).status_code == 302
    client.logout()

    response = signup(client, "grace", address)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many sign-ups" in page
    assert 'value="grace"' in page and 'value="Grace Q."' in page  # nothing typed is lost
    assert "a-long-passphrase-9" not in page
    assert not User.objects.filter(username="grace").exists()

    # another address is not affected
    assert signup(client, "grace", fresh_address()).status_code == 302


@override_settings(SIGNUP_RATE_LIMIT=LIMIT)
def test_the_signup_page_itself_is_not_counted(client):
    address = fresh_address()
    for _ in range(3):
        assert client.get("/accounts/signup/", REMOTE_ADDR=address).status_code == 200
    assert signup(client, "erin", address).status_code == 302
