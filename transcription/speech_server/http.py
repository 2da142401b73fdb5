"""The speech server's HTTP/1.1 front: request heads, responses, and the WebSocket hand-off.

WebSocket upgrades go, byte for byte, to a ``websockets`` server on a loopback port: that server
refuses requests with a body, so everything else (the batch endpoint's uploads, health checks)
is answered here, on a small asyncio front that reads one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..engines.openai_protocol import ProtocolError

MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT = 30.0


@dataclass
class HttpRequest:
    """A request's line and headers (its body is read separately, if at all)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names


@dataclass
class HttpResponse:
    """A whole response, sent at once."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def of(cls, status: int, data: Any) -> HttpResponse:
        """A JSON response."""
        return cls(status, json.dumps(data).encode())

    @classmethod
    def error(cls, status: int, error: ProtocolError) -> HttpResponse:
        """OpenAI's error body."""
        return cls.of(status, error.body())

    def encode(self) -> bytes:
        """The whole response, head and body; the connection closes after it."""
        head = (
            f"HTTP/1.1 {self.status} {http.HTTPStatus(self.status).phrase}\r\n"
            f"Content-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode() + self.body


def parse_head(head: bytes) -> HttpRequest:
    """A request line and headers; raises ``ValueError`` for a malformed request line."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise ValueError(f"bad request line: {lines[0][:80]!r}") from None
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return HttpRequest(method, urlsplit(target).path, headers)


async def read_head(reader: asyncio.StreamReader) -> tuple[bytes, HttpRequest] | None:
    """The raw head and the request it holds; ``None`` for a client that sent no valid one."""
    try:
        async with asyncio.timeout(HEAD_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
        return head, parse_head(head)
    except (
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        TimeoutError,
        ValueError,
        ConnectionError,
    ):
        return None


async def read_body(reader: asyncio.StreamReader, request: HttpRequest, limit: int) -> bytes:
    """The request's body, up to ``limit`` bytes; raises :class:`BodyRefused` otherwise."""
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        raise BodyRefused(
            411, ProtocolError(None, "Chunked uploads are not supported: send Content-Length.")
        )
    try:
        length = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise BodyRefused(400, ProtocolError(None, "Invalid Content-Length header.")) from None
    if length > limit:
        # read it all, as OpenAI does, so that the client sees the answer
        remaining = length
        while remaining > 0:
            chunk = await reader.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        message = f"Maximum content size limit ({limit}) exceeded ({length} bytes read)"
        raise BodyRefused(413, ProtocolError(None, message, None, "server_error"))
    return await reader.readexactly(length)


class BodyRefused(Exception):
    """A request body the server will not take, with the response that says so."""

    def __init__(self, status: int, error: ProtocolError) -> None:
        super().__init__(error.message)
        self.response = HttpResponse.error(status, error)


async def respond(writer: asyncio.StreamWriter, response: HttpResponse) -> None:
    """Send the response and close the connection."""
    writer.write(response.encode())
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


class Tunnels:
    """WebSocket connections handed to the inner server, piped byte for byte."""

    def __init__(self) -> None:
        self.open: set[asyncio.StreamWriter] = set()

    async def run(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int
    ) -> None:
        """Pipe one client connection to ``127.0.0.1:port`` until either side closes."""
        try:
            inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        self.open.update((writer, inner_writer))
        inner_writer.write(head)
        pipes = [
            asyncio.create_task(_pipe(reader, inner_writer)),
            asyncio.create_task(_pipe(inner_reader, writer)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for end in (writer, inner_writer):
                end.close()
                self.open.discard(end)

    def close(self) -> None:
        """Drop every tunnel (after the inner server closed its sessions)."""
        for writer in list(self.open):
            writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
