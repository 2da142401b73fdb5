"""Opening one Realtime transcription connection with the SDK, and configuring a server session.

The official SDK opens it (``AsyncOpenAI(...).realtime.connect()``) with ``intent=transcription``
and no ``model``, which would make it a conversation session. Each endpoint gives the SDK its
``websocket_base_url`` (the SDK adds ``/realtime``): OpenAI's, or the speech server's.
:class:`Link` is a session's connection: its state, its endpoint in the pool, the SDK's objects.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from .endpoint_pool import Endpoint, EndpointPool
from .protocol import ERROR, SESSION_UPDATED, describe_error, new_id
from .state import LinkState, check_move

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


class Link:
    """One session's connection: its :class:`LinkState`, its endpoint, the SDK's objects.

    Every change of state goes through :meth:`move_to`, checked against
    :data:`~.state.LINK_MOVES`. The endpoint is counted in the pool while the link holds it.
    """

    def __init__(
        self,
        pool: EndpointPool,
        openai: OpenAIConfig,
        update: SessionUpdateEventParam,
        on_reconnecting: ReconnectHook,
    ) -> None:
        self.pool = pool
        self.openai = openai
        self.update = update  # sent again to every new server session
        self.on_reconnecting = on_reconnecting
        self.state = LinkState.CONNECTING
        self.endpoint: Endpoint | None = None  # where the current connection goes
        self.client: AsyncOpenAI | None = None
        self.conn: AsyncRealtimeConnection | None = None

    @property
    def connected(self) -> bool:
        """Configured: audio may be sent (not while reconnecting)."""
        return self.state is LinkState.CONNECTED

    def move_to(self, state: LinkState) -> None:
        check_move(self.state, state)
        self.state = state

    async def open(self, avoid: str | None = None) -> AsyncRealtimeConnection:
        """A configured connection at the best endpoint of the pool that takes one."""
        errors: list[Exception] = []
        for endpoint in self.pool.choices(avoid):
            try:
                client, conn = await open_connection(
                    endpoint.url, self.openai, self.update, self.on_reconnecting
                )
            except SessionRejected as exc:  # the port answers: the endpoint is not down
                errors.append(exc)
                continue
            except EngineUnavailable as exc:
                self.pool.failed(endpoint)
                errors.append(exc)
                continue
            self.pool.succeeded(endpoint)
            self.pool.acquire(endpoint)
            self.endpoint, self.client, self.conn = endpoint, client, conn
            return conn
        raise EngineUnavailable("; ".join(str(error) for error in errors))

    def dropped(self) -> None:
        """The socket dropped while connected: the SDK reconnects, the endpoint is set aside."""
        self.move_to(LinkState.RECONNECTING)
        if self.endpoint is not None:
            self.pool.failed(self.endpoint)

    def should_move(self) -> bool:
        """Whether to leave this endpoint for another healthy one (the link is then MOVING)."""
        if self.endpoint is not None and self.pool.has_other_healthy(self.endpoint.url):
            self.move_to(LinkState.MOVING)
            return True
        return False

    def reconnected(self) -> None:
        """The SDK's new connection is configured and replayed to: the endpoint is well."""
        if self.endpoint is not None:
            self.pool.succeeded(self.endpoint)

    async def close(self) -> None:
        """Close the connection and its client (the SDK does not reconnect a closed one)."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
        if self.client is not None:
            await self.client.close()

    def leave(self) -> str | None:
        """Give the endpoint back to the pool; its URL, to avoid when opening another."""
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is None:
            return None
        self.pool.release(endpoint)
        return endpoint.url
