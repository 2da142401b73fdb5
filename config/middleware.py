"""The Content-Security-Policy header, with this site's own WebSocket address in connect-src."""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase


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
