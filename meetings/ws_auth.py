"""WebSocket authentication: the session cookie for browsers, API tokens for other clients."""

from __future__ import annotations

from importlib import import_module
from urllib.parse import parse_qs, urlparse

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.http.request import is_same_domain, split_domain_port
from django.utils.crypto import constant_time_compare

from .batched_reads import BatchedReads
from .models import ApiToken, User
from .tokens import active_tokens, token_from_authorization


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


#: a storm's token lookups, one query for all who connect together
_tokens: BatchedReads[str, ApiToken | None] = BatchedReads(active_tokens)


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
            # a client may send raw bytes that are not UTF-8: no token of ours has them
            query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
            raw = (query.get("token") or [None])[0]
        if raw:
            token = await _tokens.get(raw)
            if token is not None:
                # the token's id, so that a revocation closes this connection too
                scope = dict(scope, user=token.user, auth="token", token_id=token.pk)
        return await self.app(scope, receive, send)


DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginValidator:
    """Browsers must connect from this site itself; clients without a browser send no Origin.

    The Origin must name one of ALLOWED_HOSTS with the scheme and port the socket was opened
    to (its Host header): cookies do not care about ports, so a page served on another port
    of the same host (http://127.0.0.1:1) is another site that would otherwise act as the
    user. CSRF_TRUSTED_ORIGINS are let in as Django's CSRF check lets them in.

    Channels' AllowedHostsOriginValidator also refuses a missing Origin, which
    would lock out API-token clients. A browser always sends Origin, so a
    cross-site page can never pass by leaving it out.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and not self.allowed(origin, scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def allowed(origin: str, scope) -> bool:
        parts = _scheme_host_port(origin)
        if parts is None:
            return False
        host, _port = split_domain_port(urlparse(origin).netloc)
        allowed_hosts = settings.ALLOWED_HOSTS or (
            ["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
        )
        if not any(pattern == "*" or is_same_domain(host, pattern) for pattern in allowed_hosts):
            return False
        trusted = map(_scheme_host_port, settings.CSRF_TRUSTED_ORIGINS)
        if parts in trusted:
            return True
        server = _socket_origin(scope)
        if server is None:  # no Host header, so no browser: only the scheme's own port
            return parts[2] == DEFAULT_PORTS[parts[0]]
        return parts == server


def _scheme_host_port(url: str) -> tuple[str, str, int] | None:
    """("https", "example.com", 443) of an origin, its port made explicit; None if invalid."""
    parsed = urlparse(url)
    if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname:
        return None
    try:
        port = parsed.port  # ValueError when it is no number or out of range
    except ValueError:
        return None
    return parsed.scheme, parsed.hostname, port or DEFAULT_PORTS[parsed.scheme]


def _socket_origin(scope) -> tuple[str, str, int] | None:
    """The origin of the page that may open this socket: its Host, and https when the socket
    is secure here or at the front proxy. A browser cannot set X-Forwarded-Proto itself."""
    host = _header(scope, b"host")
    if not host:
        return None
    secure = scope.get("scheme") == "wss" or _header(scope, b"x-forwarded-proto") == "https"
    return _scheme_host_port(f"{'https' if secure else 'http'}://{host}")


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
