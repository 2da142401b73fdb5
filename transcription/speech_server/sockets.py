"""What a realtime session needs of its WebSocket, and Starlette's WebSocket made to fit it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

#: sending to a socket the client left, or the server closed, raises one of these
_GONE = (WebSocketDisconnect, WebSocketDisconnected)


class Socket(Protocol):
    """A WebSocket as :class:`~.session.TranscriptionSession` uses it."""

    async def send_text(self, data: str) -> None:
        """Send a text frame; once the socket is closed, the frame is dropped."""

    def messages(self) -> AsyncIterator[str | bytes]:
        """The client's frames, text or binary, until it closes or the server does."""

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a code and reason; nothing happens if the socket is closed already."""


class StarletteSocket:
    """A Starlette :class:`WebSocket`, accepted, as a :class:`Socket`.

    Starlette's ``iter_text`` fails on a binary frame, which a session answers with an error
    event, and its sends raise once either side has closed: a session's events for a client
    that left (or that a shutdown closed) have no one to go to.
    """

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send_text(self, data: str) -> None:
        with contextlib.suppress(*_GONE):
            await self.websocket.send_text(data)

    async def messages(self) -> AsyncIterator[str | bytes]:
        while True:
            try:
                message = await self.websocket.receive()
            except WebSocketDisconnected:  # its disconnect was received already
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            yield text if text is not None else message["bytes"]

    async def close(self, code: int, reason: str = "") -> None:
        with contextlib.suppress(*_GONE):
            await self.websocket.close(code, reason)
