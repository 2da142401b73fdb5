"""Opening one Realtime transcription connection with the SDK, and configuring a server session.

The official SDK opens it (``AsyncOpenAI(...).realtime.connect()``) with ``intent=transcription``
and no ``model``, which would make it a conversation session. Each endpoint gives the SDK its
``websocket_base_url`` (the SDK adds ``/realtime``): OpenAI's, or the speech server's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import SessionUpdateEventParam
from openai.types.websocket_reconnection import (
    ReconnectingEvent,
    ReconnectingOverrides,
    is_recoverable_close,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ..base import EngineUnavailable, OpenAIConfig
from .protocol import ERROR, SESSION_UPDATED, describe_error, new_id

CONNECT_TIMEOUT = 10.0
CLOSE_HANDSHAKE_TIMEOUT = 2.0
#: a host that vanished without closing its sockets is noticed within about 15 s
PING_INTERVAL, PING_TIMEOUT = 5.0, 10.0
#: the SDK's reconnect backoff: 0.25 s doubling to 5 s, ten tries, about 30 s in all
RECONNECT_ATTEMPTS = 10
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 5.0

ReconnectHook = Callable[[ReconnectingEvent], ReconnectingOverrides | None]


class SessionRejected(Exception):
    """The server refused the session (key, endpoint or configuration): retrying cannot help."""


def websocket_base_url(endpoint: str) -> str:
    """The SDK's ``websocket_base_url`` for a Realtime endpoint (the SDK adds ``/realtime``).

    ``intent`` is the SDK's to add; a ``model`` parameter would make a conversation session.
    """
    parts = urlsplit(endpoint)
    if not parts.path.rstrip("/").endswith("/realtime"):
        raise EngineUnavailable(f"OPENAI_REALTIME_ENDPOINT must end in /realtime: {endpoint}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/").removesuffix("/realtime")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"intent", "model"}]
    return urlunsplit(parts._replace(scheme=scheme, path=path, query=urlencode(query)))


async def open_connection(
    endpoint: str,
    openai: OpenAIConfig,
    update: SessionUpdateEventParam,
    on_reconnecting: ReconnectHook,
) -> tuple[AsyncOpenAI, AsyncRealtimeConnection]:
    """A configured connection to ``endpoint`` (and its client, which the caller closes).

    Raises :class:`SessionRejected` when the server refused, ``EngineUnavailable`` when it
    could not be reached.
    """
    client = AsyncOpenAI(
        api_key=openai.api_key,
        base_url=openai.base_url,
        websocket_base_url=websocket_base_url(endpoint),
    )
    try:
        return client, await _connect(client, endpoint, update, on_reconnecting)
    except BaseException as exc:
        await client.close()
        if isinstance(exc, SessionRejected):
            raise
        if isinstance(exc, OSError | TimeoutError):
            raise EngineUnavailable(f"cannot reach {endpoint}: {exc}") from exc
        if isinstance(exc, Exception):  # websockets' handshake and protocol errors
            raise EngineUnavailable(f"cannot open a session at {endpoint}: {exc}") from exc
        raise


async def _connect(
    client: AsyncOpenAI,
    endpoint: str,
    update: SessionUpdateEventParam,
    on_reconnecting: ReconnectHook,
) -> AsyncRealtimeConnection:
    # websockets' own options, which the SDK passes through although its type does not list
    # them: a dead peer must not hold close() for websockets' default of 10 s
    options: Any = {
        "close_timeout": CLOSE_HANDSHAKE_TIMEOUT,
        "ping_interval": PING_INTERVAL,
        "ping_timeout": PING_TIMEOUT,
    }
    manager = client.realtime.connect(
        extra_query={"intent": "transcription"},
        websocket_connection_options=options,
        on_reconnecting=on_reconnecting,
        max_retries=RECONNECT_ATTEMPTS,
        initial_delay=BACKOFF_FIRST,
        max_delay=BACKOFF_MAX,
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            conn = await manager.enter()
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in {401, 403, 404}:
            raise SessionRejected(f"{endpoint} answered {status}") from exc
        raise
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await configure(conn, await conn.recv(), update)
    except ConnectionClosed as exc:
        await conn.close()
        code = exc.rcvd.code if exc.rcvd else 1006
        if not is_recoverable_close(code):
            raise SessionRejected(f"OpenAI closed the session: {exc.rcvd}") from exc
        raise
    except BaseException:
        await conn.close()
        raise
    return conn


async def configure(conn: AsyncRealtimeConnection, first: Any, update: SessionUpdateEventParam):
    """Send the settings to a new server session, whose first event was ``first``."""
    if getattr(first, "type", None) == ERROR:
        code, message = describe_error(first)
        raise SessionRejected(f"OpenAI refused the session ({code}): {message}")
    await conn.session.update(session=update["session"], event_id=new_id("evt"))
    while True:
        event = await conn.recv()
        kind = getattr(event, "type", None)
        if kind == SESSION_UPDATED:
            return
        if kind == ERROR:
            code, message = describe_error(event)
            raise SessionRejected(f"OpenAI refused the settings ({code}): {message}")
