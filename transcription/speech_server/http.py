"""The speech server's HTTP answers in OpenAI's shape, and request bodies counted as they arrive.

Responses carry exactly the bytes and content type given: Starlette's ``JSONResponse`` writes
compact JSON and adds a charset to text types, which the server's clients have never seen.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..engines.openai.protocol import ProtocolError


def reply(status: int, body: bytes, content_type: str) -> Response:
    """A whole response, its content type as given."""
    return Response(body, status, headers={"Content-Type": content_type})


def json_reply(status: int, data: Any) -> Response:
    return reply(status, json.dumps(data).encode(), "application/json")


def error_reply(status: int, error: ProtocolError) -> Response:
    """OpenAI's error body."""
    return json_reply(status, error.body())


class BodyRefused(Exception):
    """A request body the server will not take, with the response that says so."""

    def __init__(self, status: int, error: ProtocolError) -> None:
        super().__init__(error.message)
        self.response = error_reply(status, error)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes of it kept; raises :class:`BodyRefused`.

    Bytes are counted as they arrive, with a ``Content-Length`` or chunked alike (uvicorn
    de-chunks). A longer body is still read to its end, as OpenAI does, so that a client still
    sending sees the answer rather than a reset; none of it is kept.
    """
    body = bytearray()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            body.clear()
        else:
            body += chunk
    if received > limit:
        message = f"Maximum content size limit ({limit}) exceeded ({received} bytes read)"
        raise BodyRefused(413, ProtocolError(None, message, None, "server_error"))
    return bytes(body)
