"""Keep credentials that arrive in a URL out of logs and error reports.

Clients without a browser may authenticate with ``?token=`` (docs/PROTOCOL.md), and a caption
link carries its token in the path (``/captions/cv_…/``). Daphne's access log writes each
request's path with its query string, and Django's error reports show the query, the full URL
and every frame's local variables: each would keep the token.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from django.http import HttpRequest
from django.utils.html import escape
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

REDACTED = "[redacted]"
# Which parameter names are secret: the rule Django applies to settings and headers.
SENSITIVE_NAME = SafeExceptionReporterFilter.hidden_settings
# Shorter values cannot be real tokens, and replacing them everywhere would garble a report.
MIN_SECRET_LENGTH = 8
#: how a caption link's token starts (caption_views.models takes it from here)
LINK_TOKEN_PREFIX = "cv_"
PATH_TOKEN = re.compile(rf"(?<=/){LINK_TOKEN_PREFIX}[^/?#]+")


def redact_query(path: str) -> str:
    """The path with caption-link tokens and every sensitive query parameter's value replaced.

    ``/ws/?token=abc&version=3`` becomes ``/ws/?token=[redacted]&version=3``, and
    ``/captions/cv_abc/`` ``/captions/[redacted]/``. Names are compared decoded, so
    ``?%74oken=abc`` is caught too; everything else is kept as sent.
    """
    base, question_mark, query = path.partition("?")
    base = PATH_TOKEN.sub(REDACTED, base)
    if not question_mark:
        return base
    parts = []
    for part in query.split("&"):
        name, _, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if SENSITIVE_NAME.search(unquote_plus(name)) else part)
    return f"{base}?{'&'.join(parts)}"


class RedactLinkTokens(logging.Filter):
    """Caption-link tokens out of every log line (Django logs a 404's path, for one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = PATH_TOKEN.sub(REDACTED, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                PATH_TOKEN.sub(REDACTED, arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def request_secrets(request: HttpRequest | None) -> set[str]:
    """The credentials a request carries in its query string or Authorization header."""
    if request is None:
        return set()
    values = [
        value
        for name, values in request.GET.lists()
        if SENSITIVE_NAME.search(name)
        for value in values
    ]
    values += PATH_TOKEN.findall(request.path)
    _scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    values.append(credential.strip())
    return {value for value in values if len(value) >= MIN_SECRET_LENGTH}


class RedactingExceptionReporter(ExceptionReporter):
    """Error reports (the DEBUG page, mail to ADMINS) without the request's credentials.

    Django already hides sensitive settings, headers and cookies, but not the query string,
    the URL or local variables; the token's value is replaced wherever it appears.
    """

    def get_traceback_html(self) -> str:
        return self._redact(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return self._redact(super().get_traceback_text())

    def _redact(self, report: str) -> str:
        for secret in request_secrets(self.request):
            report = report.replace(secret, REDACTED).replace(escape(secret), REDACTED)
        return report
