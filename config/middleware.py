"""The site's own middleware.

The Content-Security-Policy header, with this site's own WebSocket address in connect-src; the
interface's language saved on an account.
"""

from __future__ import annotations

from collections.abc import Callable

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.utils import translation


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, allowing WebSockets to this host by name.

    CSP Level 3 lets 'self' match ws:// and wss:// on the page's own host, but older
    browsers (Safari before 15.4 among them) do not, and the room page would lose its
    captions. The host is only known per request, so it is added here.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts  # nothing from a host we do not serve goes into the header
        update = dict(parts.update or {})
        extra = update.get("connect-src") or []  # from a view's @csp_update, if any
        extra = [extra] if isinstance(extra, str) else list(extra)
        update["connect-src"] = [*extra, f"ws://{host}", f"wss://{host}"]
        parts.update = update
        return parts


class AccountLanguageMiddleware:
    """A signed-in person's interface language is the one saved on their account.

    LocaleMiddleware has chosen from the cookie or the browser's Accept-Language; an account's
    choice wins over both, so it follows the person to another browser. The cookie is set to it
    too, so the page after logging out stays in the same language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        language = self.account_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response

    @staticmethod
    def account_language(request: HttpRequest) -> str:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        # a language since taken out of LANGUAGES is ignored, not an error
        return user.language if user.language in dict(settings.LANGUAGES) else ""
