"""Daphne's own command line, with a server that keeps two promises: ``python -m config.server``.

It takes Daphne's arguments unchanged (``python -m config.server -b 0.0.0.0 -p 8000
config.asgi:application``); scripts/serve.py, the tests, the Dockerfile and docker-compose.yml
all start the site with it.

- A WebSocket message over the size limit is answered with close code 1009, as
  docs/PROTOCOL.md says. Daphne leaves autobahn's default ``failByDrop=True``, which drops
  the TCP connection instead (the client sees 1006, no code), and the application cannot send
  1009 itself: autobahn's ``sendClose`` accepts only 1000 and 3000-4999.
- The access log never shows a credential from a query string (``?token=``).
- A listener that falls too far behind (what it has not read passes
  CAPTIONS_MAX_UNSENT_BYTES) is closed with 4412 and reconnects: its backlog is bounded, and
  nobody else waits for it.
- A storm of connections (a thousand people opening the link at 9:00) is queued, not refused:
  a listen backlog of LISTEN_BACKLOG, and CONNECT_SECONDS for the application to accept.

It also gives freed memory back to the system every minute (config/memory.py).
"""

from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings

from meetings.close_codes import CloseCode

from .memory import start_releasing_free_memory
from .redaction import redact_query

#: connections the kernel holds for Daphne to accept (Twisted's default is 50); the kernel's
#: net.core.somaxconn caps it
LISTEN_BACKLOG = 4096
#: how long a WebSocket may wait to be accepted (Daphne's default is 5 s): in a storm the
#: application takes its connections in turn, and one refused comes back as one more
CONNECT_SECONDS = 60
#: how long a listener closed as too slow has to read the close frame behind its backlog
SLOW_CLOSE_SECONDS = 30


class RedactingActionLogger:
    """Daphne's access logger, given each path with its sensitive query values replaced.

    Daphne logs HTTP paths and WebSocket paths with their query strings.
    """

    def __init__(self, logger: Any) -> None:
        self.logger = logger

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if isinstance(details.get("path"), str):
            details = dict(details, path=redact_query(details["path"]))
        self.logger(protocol, action, details)


class BoundedWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket, with a bound on what its client has not read.

    Daphne writes every message to the socket at once, and Twisted keeps what the network does
    not take: a client that stops reading would make the process hold everything the room says
    for it. The transport tells a registered producer when its buffer fills (past 64 KiB) and
    when it drained; what is sent in between is counted, and past CAPTIONS_MAX_UNSENT_BYTES the
    connection is closed with 4412 (the application hears of it as any disconnect).
    """

    #: bytes sent since the transport's buffer filled; None while the client keeps up
    unsent: int | None = None

    def connectionMade(self) -> None:
        super().connectionMade()
        # The transport comes from the HTTP request Daphne upgraded, whose HTTPChannel is its
        # producer still; the connection is this protocol's now.
        self.transport.unregisterProducer()
        self.registerProducer(self, True)

    def pauseProducing(self) -> None:
        if self.unsent is None:  # (Twisted may say so again before it drains)
            self.unsent = 0

    def resumeProducing(self) -> None:
        self.unsent = None

    def stopProducing(self) -> None:
        """The connection is gone: nothing to stop (the application is told by Daphne)."""

    def serverSend(self, content: str | bytes, binary: bool = False) -> None:
        if self.unsent is not None and self.state == self.STATE_OPEN:
            self.unsent += len(content)
            if self.unsent > settings.CAPTIONS_MAX_UNSENT_BYTES:
                self.close_as_too_slow()
                return
        super().serverSend(content, binary)

    def close_as_too_slow(self) -> None:
        # The close frame waits behind the backlog: time for a slow client to reach it (and
        # so learn why) before the connection is dropped; nothing more is queued meanwhile.
        self.closeHandshakeTimeout = SLOW_CLOSE_SECONDS
        self.sendClose(code=CloseCode.TOO_SLOW)
        # The application hears of it now, not when the client answers (muted: Daphne's onClose
        # does not tell it twice): its consumer leaves the room and stops sending at once.
        self.application_queue.put_nowait(
            {"type": "websocket.disconnect", "code": CloseCode.TOO_SLOW}
        )
        self.muted = True


class CaptionsServer(Server):
    def __init__(
        self, *args: Any, action_logger: Any = None, endpoints: Any = None, **kwargs: Any
    ) -> None:
        if action_logger is not None:
            action_logger = RedactingActionLogger(action_logger)
        endpoints = [with_backlog(endpoint) for endpoint in endpoints or []]
        super().__init__(*args, action_logger=action_logger, endpoints=endpoints, **kwargs)

    # Server.run() creates its WebSocket factory and starts the reactor in the same method,
    # with no hook in between. Every factory it makes is assigned to this attribute, so the
    # option is set as the factory arrives (run() then adds the size limits to the same
    # factory), without copying run().
    @property
    def ws_factory(self) -> Any:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: Any) -> None:
        # Fail an over-limit message with a close frame (1009), not a dropped connection.
        factory.setProtocolOptions(failByDrop=False)
        factory.protocol = BoundedWebSocketProtocol
        self._ws_factory = factory


def with_backlog(endpoint: str) -> str:
    """A TCP endpoint description (``tcp:port=8000:interface=…``) with LISTEN_BACKLOG."""
    if endpoint.startswith("tcp:") and ":backlog=" not in endpoint:
        return f"{endpoint}:backlog={LISTEN_BACKLOG}"
    return endpoint


class CaptionsCommandLine(CommandLineInterface):
    server_class = CaptionsServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.set_defaults(websocket_connect_timeout=CONNECT_SECONDS)


if __name__ == "__main__":
    start_releasing_free_memory()
    CaptionsCommandLine.entrypoint()
