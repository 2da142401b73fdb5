"""An API token sent as `?token=` reaches no log and no error report.

Before the fix, Daphne's access log wrote every request's path with its query string, so
each WebSocket and HTTP request authenticated by `?token=` left the token in the log.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_class

from caption_views.models import CaptionLink
from meetings.models import ApiToken
from tests.servers import free_port, server_log


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.asyncio
async def test_it_keeps_the_token_out_of_the_server_log(live_cast, web_servers):
    _, token = await database_sync_to_async(ApiToken.issue)(live_cast.dave)
    port = free_port()
    with web_servers(port=port) as base:
        ws_url = base.replace("http", "ws", 1) + f"/ws/meetings/weekly-sync/?token={token}"
        async with websockets.connect(ws_url) as ws:
            assert json.loads(await ws.recv())["type"] == "session.ready"
        assert get(f"{base}/api/jobs/999999?token={token}") == 404
        assert get(f"{base}/no-such-page/?token={token}&version=3") == 404
    log = server_log(port).read_text()

    assert token not in log
    # the lines are there, with what is safe to keep
    assert "WSCONNECT /ws/meetings/weekly-sync/" in log
    assert '"GET /api/jobs/999999?token=' in log
    assert "&version=3" in log


@pytest.mark.asyncio
async def test_it_keeps_caption_link_tokens_out_of_the_server_log(live_cast, web_servers):
    # A caption link's token is in its path (/captions/<token>/), not its query string.
    _, token = await database_sync_to_async(CaptionLink.issue)(live_cast.meeting, live_cast.alice)
    port = free_port()
    with web_servers(port=port) as base:
        assert get(f"{base}/captions/{token}/") == 200
        ws_url = base.replace("http", "ws", 1) + f"/ws/captions/{token}/"
        async with websockets.connect(ws_url) as ws:
            assert json.loads(await ws.recv())["type"] == "viewer.ready"
        assert get(f"{base}/captions/{token}x/") == 404  # a wrong one is not logged either
    log = server_log(port).read_text()

    assert token not in log
    assert '"GET /captions/[redacted]/' in log
    assert "WSCONNECT /ws/captions/[redacted]/" in log


def test_it_keeps_the_token_out_of_error_reports():
    token = "mc_" + "s3cr3t-token-value" * 2
    request = RequestFactory().get("/api/jobs/7", {"token": token, "version": "3"})

    def view(request):
        raw = request.GET["token"]  # a local holding the token, as in the views that read it
        raise RuntimeError(f"failed for {len(raw)} characters")

    try:
        view(request)
    except RuntimeError:
        reporter = get_exception_reporter_class(request)(request, *sys.exc_info())
    text = reporter.get_traceback_text()
    html = reporter.get_traceback_html()

    assert "failed for" in text and "failed for" in html
    assert "version" in text
    assert token not in text
    assert token not in html


def test_it_keeps_caption_link_tokens_out_of_error_reports():
    token = "cv_" + "s3cr3t-link-value" * 2
    request = RequestFactory().get(f"/captions/{token}/")

    try:
        raise RuntimeError(f"failed at {request.path}")
    except RuntimeError:
        reporter = get_exception_reporter_class(request)(request, *sys.exc_info())

    assert "failed at /captions/" in reporter.get_traceback_text()
    assert token not in reporter.get_traceback_text()
    assert token not in reporter.get_traceback_html()
