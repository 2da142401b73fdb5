"""Every page carries a Content-Security-Policy that allows no inline script.

tests/browser/test_csp.py checks that the room and transcript pages work under it in Chromium.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.servers import ROOT


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize(
    "path, user",
    [
        ("/accounts/login/", None),
        ("/m/weekly-sync/", "bob"),
        ("/m/weekly-sync/transcript/", "alice"),
        ("/no-such-page/", "bob"),
        ("/admin/login/", None),
    ],
)
def test_it_sends_the_policy(cast, path, user):
    client = Client()
    if user:
        client.force_login(getattr(cast, user))
    response = client.get(path)
    assert response.status_code in {200, 404}

    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    # the room's WebSocket, explicitly: older browsers do not count ws: as 'self'
    assert csp["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]


# Markup a policy without 'unsafe-inline' blocks: a <script> without src, on*= handlers,
# javascript: URLs and style attributes.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|\sstyle\s*=", re.IGNORECASE
)


def test_no_template_needs_inline_script_or_style():
    templates = [
        path
        for directory in [ROOT / "templates", *ROOT.glob("*/templates")]
        for path in directory.rglob("*.html")
    ]
    assert ROOT / "templates" / "meetings" / "room.html" in templates
    offenders = {
        str(path.relative_to(ROOT)): INLINE.findall(path.read_text()) for path in templates
    }
    assert {path: found for path, found in offenders.items() if found} == {}
