"""API tokens for clients that have no browser session."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .models import ApiToken, User, hash_token

# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def user_for_token(raw: str | None) -> User | None:
    """The active user a raw token belongs to, or None."""
    token = active_token(raw)
    return token.user if token is not None else None


def active_token(raw: str | None) -> ApiToken | None:
    """The active token of an active user that ``raw`` is, or None."""
    if not raw:
        return None
    return active_tokens([raw])[raw]


def active_tokens(raws: list[str]) -> dict[str, ApiToken | None]:
    """Each raw token's active token of an active user, or None: one query for all (and one
    update of those last used long enough ago), for a storm of connections."""
    hashes = {raw: hash_token(raw.strip()) for raw in raws}
    found = {
        token.token_hash: token
        for token in ApiToken.objects.active()
        .select_related("user")
        .filter(token_hash__in=set(hashes.values()))
        if token.user.is_active
    }
    now = timezone.now()
    stale = [
        token.pk
        for token in found.values()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION
    ]
    if stale:
        ApiToken.objects.filter(pk__in=stale).update(last_used_at=now)
    return {raw: found.get(token_hash) for raw, token_hash in hashes.items()}


def token_from_authorization(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
