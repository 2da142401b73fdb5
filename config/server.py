"""Daphne's own command line, with a server that keeps two promises: ``python -m config.server``.

It takes Daphne's arguments unchanged (``python -m config.server -b 0.0.0.0 -p 8000
config.asgi:application``); scripts/serve.py, the tests, the Dockerfile and docker-compose.yml
all start the site with it.

- A WebSocket message over the size limit is answered with close code 1009, as
  docs/PROTOCOL.md says. Daphne leaves autobahn's default ``failByDrop=True``, which drops
  the TCP connection instead (the client sees 1006, no code), and the application cannot send
  1009 itself: autobahn's ``sendClose`` accepts only 1000 and 3000-4999.
- The access log never shows a credential from a query string (``?token=``).

It also gives freed memory back to the system every minute (config/memory.py).
"""

from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server

from .memory import start_releasing_free_memory
from .redaction import redact_query


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


class CaptionsServer(Server):
    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        if action_logger is not None:
            action_logger = RedactingActionLogger(action_logger)
        super().__init__(*args, action_logger=action_logger, **kwargs)

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
        self._ws_factory = factory


class CaptionsCommandLine(CommandLineInterface):
    server_class = CaptionsServer


if __name__ == "__main__":
    start_releasing_free_memory()
    CaptionsCommandLine.entrypoint()
