"""A server process that dies cannot lock its users out: their connections' leases lapse.

Before the fix, each connection added one to a per-user counter in Redis that only a clean
disconnect took back, and whose expiry every new attempt renewed: a crashed process (or a
crashed consumer) left the user refused with 4429 for hours.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from meetings.models import ApiToken

LEASE_SECONDS = 15
LIMITS = {"CAPTIONS_MAX_CONNECTIONS_PER_USER": "2", "CAPTIONS_CONNECTION_LEASE_SECONDS": "15"}


def open_socket(base: str, token: str) -> ClientConnection:
    url = base.replace("http", "ws") + "/ws/meetings/weekly-sync/"
    return connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


def first_event_or_close(ws: ClientConnection) -> tuple[str, int | None]:
    """The type of the first event, and the close code if the server then closed."""
    event = json.loads(ws.recv(timeout=10))
    if event["type"] == "session.ready":
        return event["type"], None
    try:
        ws.recv(timeout=10)
    except ConnectionClosed as closed:
        return event["type"], closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the server neither welcomed nor closed the connection")


def test_a_killed_server_frees_its_users_connections_when_their_leases_lapse(
    live_cast, web_server_processes
):
    _, token = ApiToken.issue(live_cast.bob)
    with web_server_processes(**LIMITS) as (base, server), ExitStack() as sockets:
        held = [sockets.enter_context(open_socket(base, token)) for _ in range(2)]
        assert [first_event_or_close(ws) for ws in held] == [("session.ready", None)] * 2
        with open_socket(base, token) as third:
            assert first_event_or_close(third) == ("error", 4429)
        server.kill()  # no disconnect handler runs: the leases stay behind in Redis
        server.wait()

    with web_server_processes(**LIMITS) as (base, _):
        with open_socket(base, token) as refused:
            assert first_event_or_close(refused) == ("error", 4429)
        deadline = time.monotonic() + LEASE_SECONDS + 30
        while True:
            with open_socket(base, token) as ws:
                outcome = first_event_or_close(ws)
            if outcome == ("session.ready", None) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert outcome == ("session.ready", None), "the dead server's leases never lapsed"
