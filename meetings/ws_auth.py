"""WebSocket authentication: the session cookie for browsers, API tokens for other clients."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port

from .tokens import token_from_authorization, user_for_token


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
            user = await database_sync_to_async(user_for_token)(raw)
            if user is not None:
                scope = dict(scope, user=user, auth="token")
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
