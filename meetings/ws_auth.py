"""WebSocket authentication: the session cookie for browsers, API tokens for other clients."""

from __future__ import annotations

from importlib import import_module
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.http.request import is_same_domain, split_domain_port
from django.utils.crypto import constant_time_compare

from .models import ApiToken, User
from .tokens import active_token, token_from_authorization


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class TokenAuthMiddleware:
    """Authenticates by ``Authorization: Bearer`` or ``?token=`` when there is no session user.

    Sits inside AuthMiddlewareStack, so ``scope["user"]`` is already resolved
    (lazily) from the session cookie.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        raw = token_from_authorization(_header(scope, b"authorization"))
        if raw is None:
            query = parse_qs(scope.get("query_string", b"").decode())
            raw = (query.get("token") or [None])[0]
        if raw:
            token = await database_sync_to_async(active_token)(raw)
            if token is not None:
                # the token's id, so that a revocation closes this connection too
                scope = dict(scope, user=token.user, auth="token", token_id=token.pk)
        return await self.app(scope, receive, send)


class OriginValidator:
    """Browsers must connect from one of ALLOWED_HOSTS; clients without a browser send no Origin.

    Channels' AllowedHostsOriginValidator also refuses a missing Origin, which
    would lock out API-token clients. A browser always sends Origin, so a
    cross-site page can never pass by leaving it out.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and not self.allowed(origin):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def allowed(origin: str) -> bool:
        parsed = urlparse(origin)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            return False
        host, _port = split_domain_port(parsed.netloc)
        allowed_hosts = settings.ALLOWED_HOSTS or (
            ["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
        )
        return any(pattern == "*" or is_same_domain(host, pattern) for pattern in allowed_hosts)


def credentials_still_valid(scope, user: User) -> bool:
    """Whether what authenticated this connection still would (sync; run off the event loop).

    A revoked token, a session that was logged out or expired, or a password change (Django
    keys sessions to a hash of the password) all end the rights of an open connection.
    """
    token_id = scope.get("token_id")
    if token_id is not None:
        return ApiToken.objects.active().filter(pk=token_id, user=user).exists()
    session_key = getattr(scope.get("session"), "session_key", None)
    if not session_key:
        return False
    # a fresh store: the connection's own copy was loaded when it connected
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return session.get(SESSION_KEY) == str(user.pk) and constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    )
