"""The project's speech server as a real process, and the raw HTTP and WebSocket calls to it.

OpenAI is not reachable from here, so the OpenAI-compatible server the project ships stands in
for it: real speech, a real socket, a separate process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from tests.live.streaming import at_rate
from tests.servers import ROOT, SETTINGS_VARIABLES, free_port
from tests.speech import clip

API_KEY = "sk-test-realtime-server-0001"
# read-only: Starlette's TestClient writes its own handshake headers into the dict it is given,
# and a shared one then carried an invalid Sec-WebSocket-Key into every later real handshake
AUTH = MappingProxyType({"Authorization": f"Bearer {API_KEY}"})
RATE = 24000
CHUNK = RATE * 2 // 10  # 100 ms of 24 kHz PCM16


class SpeechServerProcess:
    """The speech server on a fixed port, which can be killed and started again.

    ``python -m transcription.speech_server`` with no Django settings at all, or with
    ``django=True`` the ``manage.py realtime_server`` wrapper on the test settings.
    """

    def __init__(self, *, django: bool = False, python_flags: list[str] | None = None) -> None:
        self.django = django
        self.python_flags = python_flags or []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.realtime_url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        self.process: subprocess.Popen | None = None
        (ROOT / "var").mkdir(exist_ok=True)
        self.log_path = ROOT / "var" / f"speech-server-{self.port}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed by stop())

    def command(self) -> tuple[list[str], dict[str, str]]:
        options = ["--port", str(self.port), "--api-key", API_KEY]
        if self.django:
            env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.test_settings")
            command = ["manage.py", "realtime_server"]
        else:
            env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
            command = ["-m", "transcription.speech_server"]
        return [sys.executable, *self.python_flags, *command, *options], env

    def start(self) -> None:
        command, env = self.command()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the speech server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        """A crash: no close frames, the sockets just drop."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def speech_24k(name: str) -> bytes:
    pcm, rate = clip(name).pcm16()
    return at_rate(pcm, rate, RATE)


# --- raw HTTP ------------------------------------------------------------------------------


def multipart(fields: list[tuple[str, str]], filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body (the fields, then ``file``) and its content type."""
    boundary = "----captions" + secrets.token_hex(12)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: audio/wav\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post(url: str, fields: list[tuple[str, str]], filename: str, data: bytes):
    """POST a form with the key; (status, the body as JSON, or as text if it is not JSON)."""
    body, content_type = multipart(fields, filename, data)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={**AUTH, "Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _decode(exc.read())


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


# --- raw WebSocket ---------------------------------------------------------------------------

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


def validated(event: dict[str, Any]) -> dict[str, Any]:
    """The event, once the SDK's union of server events accepts it as its own type."""
    model = SERVER_EVENT.validate_python(event)
    assert model.type == event["type"]
    return event


async def next_event(ws, within: float = 30) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


async def events_until(ws, kind: str, within: float = 60) -> list[dict[str, Any]]:
    """Every event received until (and including) the first of type ``kind``."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not events or events[-1]["type"] != kind:
            events.append(await next_event(ws, within))
    return events


async def append_all(ws, pcm: bytes) -> None:
    """Append the audio in 200 ms events, as fast as the socket takes them."""
    for offset in range(0, len(pcm), 2 * CHUNK):
        chunk = pcm[offset : offset + 2 * CHUNK]
        audio = base64.b64encode(chunk).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))


async def append_in_real_time(ws, pcm: bytes, next_send: float | None = None) -> float:
    """Append the audio in 100 ms events, each at its moment, as a microphone would.

    Starts at ``next_send`` (``time.monotonic()``, default now); returns when the next frame
    would be due, so that calls follow one another without drift.
    """
    next_send = time.monotonic() if next_send is None else next_send
    for offset in range(0, len(pcm), CHUNK):
        await asyncio.sleep(max(0.0, next_send - time.monotonic()))
        audio = base64.b64encode(pcm[offset : offset + CHUNK]).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        next_send += 0.1
    return next_send


@dataclass
class Recorder:
    """Every event a session receives while the test talks, in order, with its arrival."""

    ws: Any
    events: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async for message in self.ws:
            self.events.append(json.loads(message))
            self.arrivals.append(time.monotonic())
            self.arrived.set()

    async def until(self, done, within: float = 60) -> None:
        """Wait until ``done(events)`` is true."""
        async with asyncio.timeout(within):
            while not done(self.events):
                self.arrived.clear()
                await self.arrived.wait()
