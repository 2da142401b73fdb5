"""Oversized request bodies are refused before Django reads them.

Daphne receives a whole body before it calls the application (the front proxy is what stops a
body before it reaches Daphne). Before the fix Django then spooled it, parsed it and wrote every
file in it to a temporary file, on any URL, before a view could say no: the upload API answered
401 or 413 only after that, and other pages took a multipart file of any size. Now an ASGI
middleware answers 413 from Content-Length, or counts a chunked body as it arrives.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

LIMITS = {"UPLOAD_MAX_BYTES": "1000000", "REQUEST_MAX_BYTES": "100000"}
BOUNDARY = "----body-size-test"


def multipart_file(size: int) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + bytes(size)
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def post(base: str, path: str, body: bytes, chunked: bool = False) -> tuple[int, dict | bytes]:
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    try:
        if chunked:  # no Content-Length: the body comes in pieces of 64 KiB
            pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
            connection.request("POST", path, pieces, headers, encode_chunked=True)
        else:
            connection.request("POST", path, body, headers)
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    if response.getheader("Content-Type", "").startswith("application/json"):
        return response.status, json.loads(content)
    return response.status, content


def test_it_refuses_a_body_over_its_path_limit_before_django_reads_it(live_cast, web_servers):
    with web_servers(**LIMITS) as base:
        status, body = post(base, "/api/audio/transcribe", multipart_file(1_100_000))
        assert status == 413, body
        assert body["error"] == {
            "code": "file_too_large",
            "message": "The file is larger than the 976 KiB limit.",
        }
        status, body = post(base, "/accounts/login/", multipart_file(200_000))
        assert status == 413, body
        assert body["error"]["code"] == "request_too_large"
        assert body["error"]["message"] == "The request body is larger than the 97 KiB limit."

        # under the limits, Django answers as before
        status, body = post(base, "/api/audio/transcribe", multipart_file(900_000))
        assert status == 401 and body["error"]["code"] == "not_authenticated"


def test_it_counts_a_chunked_body_as_it_arrives(live_cast, web_servers):
    with web_servers(**LIMITS) as base:
        status, body = post(base, "/api/audio/transcribe", multipart_file(1_100_000), True)
        assert status == 413, body
        assert body["error"]["code"] == "file_too_large"
        status, body = post(base, "/accounts/signup/", multipart_file(200_000), True)
        assert status == 413, body
        assert body["error"]["code"] == "request_too_large"
