"""Per-user API tokens: issued once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from meetings.models import ApiToken
from meetings.tokens import user_for_token


def test_it_prints_a_token_that_authenticates_its_user(cast):
    out = StringIO()
    call_command("issue_token", "bob", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("mc_") and len(raw) > 40
    assert user_for_token(raw) == cast.bob
    token = ApiToken.objects.get(user=cast.bob)
    # only the hash is kept
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.token_hash, token.prefix}
    assert token.last_used_at is not None


def test_it_refuses_unknown_revoked_and_inactive_tokens(cast):
    token, raw = ApiToken.issue(cast.bob)
    assert user_for_token("mc_not-a-real-token") is None
    assert user_for_token("") is None
    token.revoke()
    assert user_for_token(raw) is None
    _, raw2 = ApiToken.issue(cast.bob)
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])
    assert user_for_token(raw2) is None


def test_it_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user called 'zed'"):
        call_command("issue_token", "zed")


def test_it_lists_and_revokes_tokens_in_the_admin(client, cast):
    admin = cast.factory.make_user("root", is_staff=True, is_superuser=True)
    token, raw = ApiToken.issue(cast.bob, name="bench")
    client.force_login(admin)
    listing = client.get("/admin/meetings/apitoken/")
    assert token.prefix in listing.content.decode()
    assert raw not in listing.content.decode()
    client.post(
        "/admin/meetings/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert user_for_token(raw) is None
