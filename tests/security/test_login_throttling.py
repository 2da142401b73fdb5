"""Guessing passwords is throttled per username and address, on the site's and the admin's login.

Before the fix, 30 wrong passwords in a row for one account were all answered at full speed,
and the right one still worked after them.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


def log_in(client: Client, url: str, username: str, password: str, address: str):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", [reverse("accounts-login"), reverse("admin:login")])
def test_it_locks_one_account_for_one_address_after_wrong_passwords(cast, url):
    cast.bob.is_staff = True  # the admin's login form only accepts staff
    cast.bob.save(update_fields=["is_staff"])

    statuses = [log_in(Client(), url, "bob", f"guess-{n}", ATTACKER).status_code for n in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == [200] * (limit - 1) + [429] * (30 - limit + 1)

    client = Client()
    locked = log_in(client, url, "bob", "pw-bob", ATTACKER)
    assert locked.status_code == 429
    assert SESSION_KEY not in client.session
    page = " ".join(locked.content.decode().split())
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert "Too many wrong passwords for this account from your address" in page
    assert f"logging in to it from here is paused for {minutes} minutes" in page

    # the owner, somewhere else, is not locked out
    owner = Client()
    response = log_in(owner, url, "bob", "pw-bob", ELSEWHERE)
    assert response.status_code == 302
    assert owner.session[SESSION_KEY] == str(cast.bob.pk)


def test_it_keeps_other_accounts_open_from_the_same_address(cast):
    url = reverse("accounts-login")
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), url, "bob", f"guess-{n}", ATTACKER)

    client = Client()
    assert log_in(client, url, "dave", "pw-dave", ATTACKER).status_code == 302
    assert client.session[SESSION_KEY] == str(cast.dave.pk)


def test_signing_up_still_logs_the_new_user_in(db):
    client = Client()
    response = client.post(
        reverse("accounts-signup"),
        {
            "username": "erin",
            "display_name": "Erin",
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
        },
    )
    assert response.status_code == 302
    assert SESSION_KEY in client.session
