"""A meeting's recordings, served to its members with HTTP Range support.

The transcript page's player needs ranges to seek: browsers ask for ``bytes=N-`` at the point
they jump to, and refuse to seek at all in audio served without ``Accept-Ranges``. Django's
FileResponse answers every request whole, and the PyPI packages that add ranges
(django-ranged-response, django-ranged-fileresponse) were last released in 2017 and read files
synchronously, so the few lines of range arithmetic live here, property-tested
(tests/test_recording_ranges.py).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from .access import get_meeting_for_user
from .models import Recording

CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
#: past any file's size; a longer number is read as this (int() refuses over 4,300 digits)
BEYOND_ANY_FILE = 10**18


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` of a file, both included (as Content-Range counts them)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """A well-formed range that lies wholly outside the file: answered with 416."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range ``header`` asks of a file of ``size`` bytes; None for the whole file.

    RFC 9110 §14.2 lets a server ignore a Range it cannot parse, so a malformed header, or a
    request for several ranges (which would need multipart/byteranges, and no player asks for
    it), gets the whole file. An end past the file is cut to the file; a suffix ``-n`` longer
    than the file is the whole file. Raises Unsatisfiable for a start at or past the end, or a
    zero-length suffix (the only ranges an empty file could be asked for).
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None  # "bytes=-" is no range at all
        suffix = _offset(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _offset(first)
    if last and _offset(last) < start:
        return None  # invalid, hence ignored
    if start >= size:
        raise Unsatisfiable
    end = min(_offset(last), size - 1) if last else size - 1
    return ByteRange(start, end)


def _offset(digits: str) -> int:
    """A byte offset of the header; any number of 19 digits or more is past every file."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 19 else BEYOND_ANY_FILE


async def _read(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    """The file's bytes from ``start``, ``length`` of them, a chunk at a time.

    An async iterator because Daphne serves through Django's ASGI handler, which would collect
    a synchronous iterator into one list in memory before sending a byte of it.
    """
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(handle.seek, start)
        while length > 0:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK_BYTES, length))
            if not chunk:
                break  # the file shrank under us: end short rather than loop
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _headers(response: HttpResponse) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    # members only: no shared cache may keep a copy for someone else
    response["Cache-Control"] = "private"
    return response


# Exempt so that a POST gets require_safe's 405, as documented, and not the CSRF check's 403:
# the view only reads, so there is nothing a forged request could do.
@csrf_exempt
@require_safe
def recording_audio(request: HttpRequest, slug: str, recording_id: int) -> HttpResponse:
    """One recording of a meeting's live transcript, as WAV, to the meeting's members.

    Anyone else, signed out or in, gets 404 whether or not the meeting or recording exists,
    so the URL does not tell outsiders what is there.
    """
    if not request.user.is_authenticated:
        raise Http404("No such recording")
    try:
        access = get_meeting_for_user(request.user, slug)
    except PermissionDenied:
        raise Http404("No such recording") from None
    recording = get_object_or_404(Recording, meeting=access.meeting, pk=recording_id)
    try:
        # the storage's path() refuses names that would leave MEDIA_ROOT
        path = Path(recording.file.path)
        size = os.stat(path).st_size
    except OSError:
        raise Http404("The recording's file is missing") from None

    # A range is only valid for the version the client saw; we send no validators to compare
    # an If-Range against, so such a request gets the whole file, as RFC 9110 §13.1.5 says.
    header = None if "If-Range" in request.headers else request.headers.get("Range")
    try:
        byte_range = parse_range(header, size)
    except Unsatisfiable:
        response = _headers(HttpResponse(status=416, content_type="text/plain"))
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        byte_range, status = ByteRange(0, size - 1), 200
    else:
        status = 206
    if request.method == "HEAD":  # the headers alone: no file to open and stream
        response = HttpResponse(status=status, content_type="audio/wav")
    else:
        content = _read(path, byte_range.start, byte_range.length)
        response = StreamingHttpResponse(content, status=status, content_type="audio/wav")
    response["Content-Length"] = str(max(byte_range.length, 0))
    if status == 206:
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    return _headers(response)
