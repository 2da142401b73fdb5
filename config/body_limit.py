"""Refuse oversized request bodies before Django reads them: an ASGI middleware.

Daphne receives a whole body before it calls the application, so nothing here can spare Daphne
that (the front proxy refuses oversized bodies before they reach it). What this spares is
Django's work: it would spool the body to disk, parse it, and write every file of a multipart
form to a temporary file, on any URL, before a view could refuse it. The answer comes from the
Content-Length header when there is one; a chunked body is counted as it is received.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve

from transcription.batch.api import MULTIPART_OVERHEAD

#: the views that take an audio file: allowed UPLOAD_MAX_BYTES plus the multipart around it
UPLOAD_VIEWS = {
    "api-transcribe",
    "admin:transcription_audioupload_add",
    "admin:transcription_audioupload_change",
    "admin:meetings_recording_add",
    "admin:meetings_recording_change",
}


class BodyTooLarge(Exception):
    pass


def body_limit(path: str) -> tuple[int, dict[str, str]]:
    """The most bytes a request to this path may send, and the error that refuses more."""
    try:
        view_name = resolve(path).view_name
    except Resolver404:
        view_name = ""
    if view_name in UPLOAD_VIEWS:
        limit = describe_bytes(settings.UPLOAD_MAX_BYTES)
        message = f"The file is larger than the {limit} limit."
        return settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD, error("file_too_large", message)
    limit = describe_bytes(settings.REQUEST_MAX_BYTES)
    message = f"The request body is larger than the {limit} limit."
    return settings.REQUEST_MAX_BYTES, error("request_too_large", message)


def error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def describe_bytes(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimitMiddleware:
    """Answers 413 (JSON, as the API's errors) to a body over its path's limit."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        limit, refusal = body_limit(path)
        declared = content_length(scope)
        if declared is not None and declared > limit:
            await refuse(send, refusal)
            return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            # Django reads the whole body before it builds the request, so nothing was sent yet.
            await refuse(send, refusal)


async def refuse(send, refusal: dict[str, str]) -> None:
    body = json.dumps({"error": refusal}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
