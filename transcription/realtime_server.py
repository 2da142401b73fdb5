"""An OpenAI-compatible transcription server, served by the local engines.

One port speaks both of OpenAI's transcription APIs:

* ``GET /v1/realtime?intent=transcription`` (WebSocket): the GA Realtime transcription protocol.
  ``session.created`` on connect; ``session.update`` (validated, merged, echoed in
  ``session.updated``); ``input_audio_buffer.append``/``commit``/``clear``; the server VAD's
  ``input_audio_buffer.speech_started``/``speech_stopped``/``committed``;
  ``conversation.item.added``/``done``; ``conversation.item.input_audio_transcription.delta``
  and ``completed`` (with ``logprobs`` when the session includes them); ``error`` events with
  OpenAI's codes, and the error-then-close (3000/4000) of a refused key or URL. Behind it runs
  :class:`~transcription.engines.local.LocalRealtimeEngine`, fed 24 kHz audio resampled to 16 kHz.
* ``POST /v1/audio/transcriptions``: multipart in; ``json``/``text``/``srt``/``vtt``/
  ``verbose_json``/``diarized_json`` out as each model allows, or server-sent events with
  ``stream=true``; OpenAI's error bodies. Behind it runs
  :class:`~transcription.engines.local.LocalBatchEngine`.
* ``GET /healthz`` for health checks.

It lets the speech engine run on other hosts. Start it where the cores are::

    python manage.py realtime_server --host 0.0.0.0 --port 8765 --api-key "$KEY"

and point the caption servers at it (behind a TLS proxy, or on a private network)::

    TRANSCRIPTION_ENGINE=openai OPENAI_API_KEY=$KEY
    OPENAI_REALTIME_ENDPOINT=ws://speech-host:8765/v1/realtime
    OPENAI_BASE_URL=http://speech-host:8765/v1

It is also how the OpenAI engines are tested, since OpenAI is not reachable from CI.

Where it differs from OpenAI: every model is the local Whisper (``whisper-1`` differs only in
shape: one delta with the whole text, usage in seconds); deltas come after the commit, as with
``gpt-4o-transcribe``, also for the streaming models (which, as at OpenAI, need
``turn_detection: null``); the local decoder scores an utterance with one average
log-probability, which every token then carries; ``noise_reduction`` is accepted but not applied
and ``semantic_vad`` is the server VAD with a silence set by its eagerness; an utterance the
model hears as no speech completes with an empty transcript when the next one starts or at the
next commit.

WebSocket upgrades are handed to a ``websockets`` server on a loopback port: it refuses requests
with a body, so the HTTP side is answered here, on a small asyncio front.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import email
import hmac
import http
import io
import json
import logging
import math
import re
import secrets
import string
import time
import zlib
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from django.conf import settings as django_settings
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .audio import (
    WHISPER_SAMPLE_RATE,
    AudioDecodeError,
    AudioTooLong,
    StreamResampler,
    describe_seconds,
    float_to_pcm16,
    pcm16_to_float,
    resample,
)
from .batch.files import transcribe_file
from .engines.base import (
    BatchEngine,
    EngineSession,
    Final,
    RealtimeEngine,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    Transcript,
)
from .engines.openai_batch import LANGUAGE_NAMES, supports_logprobs

logger = logging.getLogger(__name__)

LOGPROBS = "item.input_audio_transcription.logprobs"
INPUT_RATE = 24000
G711_RATE = 8000
MIN_COMMIT_MS = 100
MAX_APPEND_BYTES = 15 * 1024 * 1024
#: an append of 15 MiB is ~20 MiB of base64 JSON; websockets' default limit is 1 MiB
MAX_MESSAGE_BYTES = 24 * 1024 * 1024
MAX_UPLOAD_BYTES = 26_214_400
MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT = 30.0
DEFAULT_MODEL = "gpt-4o-transcribe"
STREAMING_MODELS = {"gpt-realtime-whisper", "gpt-live-transcribe"}
DURATION_USAGE_MODELS = {"whisper-1", "gpt-live-transcribe"}
AUDIO_TOKENS_PER_SECOND = 10
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 600, "auto": 600, "high": 300}
CLIENT_EVENTS = (
    "session.update",
    "session.close",
    "input_audio_buffer.append",
    "session.input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
)
API_KEYS_URL = "https://platform.openai.com/account/api-keys"
NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
NO_KEY_REALTIME = "Missing bearer or basic authentication in header"
ALPHANUMERIC = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(22))


def server_event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": new_id("event"), **fields}


def redact(key: str) -> str:
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def quoted(values) -> str:
    """'a', 'b', and 'c' — the way OpenAI lists allowed values."""
    items = [f"'{v}'" for v in values]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


class ProtocolError(Exception):
    """A client mistake, reported as OpenAI reports it: ``{type, code, message, param}``."""

    def __init__(
        self,
        code: str | None,
        message: str,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.kind = kind

    def event(self, client_event_id: str | None = None) -> dict[str, Any]:
        return server_event(
            "error",
            error={
                "type": self.kind,
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "event_id": client_event_id,
            },
        )

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


# --- session.update validation ---------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _expect(value: Any, param: str, expected: str) -> None:
    ok = {
        "an object": isinstance(value, dict),
        "an array": isinstance(value, list),
        "a string": isinstance(value, str),
        "a boolean": isinstance(value, bool),
        "an integer": isinstance(value, int) and not isinstance(value, bool),
        "a decimal": isinstance(value, int | float) and not isinstance(value, bool),
    }[expected]
    if not ok:
        raise ProtocolError(
            "invalid_type",
            f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} "
            "instead.",
            param,
        )


def _known_keys(value: dict[str, Any], allowed: set[str], param: str | None) -> None:
    for key in value:
        if key not in allowed:
            path = f"{param}.{key}" if param else key
            raise ProtocolError("unknown_parameter", f"Unknown parameter: '{path}'.", path)


def _choice(value: Any, param: str, choices) -> str:
    _expect(value, param, "a string")
    if value not in choices:
        raise ProtocolError(
            "invalid_value",
            f"Invalid value: '{value}'. Supported values are: {quoted(choices)}.",
            param,
        )
    return value


def _number(value: Any, param: str, low: float, high: float, integer: bool = False):
    kind = "integer" if integer else "decimal"
    _expect(value, param, "an integer" if integer else "a decimal")
    if value < low:
        raise ProtocolError(
            f"{kind}_below_min_value",
            f"Invalid '{param}': {kind} below minimum value. Expected a value >= {low:g}, "
            f"but got {value} instead.",
            param,
        )
    if value > high:
        raise ProtocolError(
            f"{kind}_above_max_value",
            f"Invalid '{param}': {kind} above maximum value. Expected a value <= {high:g}, "
            f"but got {value} instead.",
            param,
        )
    return value


def _strings(value: Any, param: str) -> list[str]:
    _expect(value, param, "an array")
    for i, item in enumerate(value):
        _expect(item, f"{param}[{i}]", "a string")
    return list(value)


def default_settings() -> dict[str, Any]:
    """A new session as OpenAI opens it: server VAD on, no transcription configured yet."""
    return {
        "format": {"type": "audio/pcm", "rate": INPUT_RATE},
        "transcription": None,
        "noise_reduction": None,
        "turn_detection": {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 200,
        },
        "include": None,
    }


def apply_session_update(current: dict[str, Any], session: Any) -> dict[str, Any]:
    """The settings after ``session.update``; raises :class:`ProtocolError`, changing nothing.

    Only the fields present change; ``null`` turns a feature off.
    """
    if session is None:
        raise ProtocolError(
            "missing_required_parameter", "Missing required parameter: 'session'.", "session"
        )
    _expect(session, "session", "an object")
    _known_keys(session, {"type", "audio", "include"}, "session")
    if "type" not in session:
        raise ProtocolError(
            "missing_required_parameter",
            "Missing required parameter: 'session.type'.",
            "session.type",
        )
    if _choice(session["type"], "session.type", ["realtime", "transcription"]) == "realtime":
        raise ProtocolError(
            "invalid_parameter",
            "Passing a realtime session update event to a transcription session is not allowed.",
            "session.type",
        )
    new = copy.deepcopy(current)
    if "audio" in session:
        _expect(session["audio"], "session.audio", "an object")
        _known_keys(session["audio"], {"input"}, "session.audio")
        if "input" in session["audio"]:
            given = session["audio"]["input"]
            param = "session.audio.input"
            _expect(given, param, "an object")
            _known_keys(
                given, {"format", "transcription", "noise_reduction", "turn_detection"}, param
            )
            if "format" in given:
                new["format"] = _audio_format(given["format"], f"{param}.format")
            if "noise_reduction" in given:
                new["noise_reduction"] = _noise_reduction(
                    given["noise_reduction"], f"{param}.noise_reduction"
                )
            if "transcription" in given:
                new["transcription"] = _transcription(
                    given["transcription"], f"{param}.transcription"
                )
            if "turn_detection" in given:
                new["turn_detection"] = _turn_detection(
                    given["turn_detection"], f"{param}.turn_detection"
                )
    if "include" in session:
        include = session["include"]
        if include is not None:
            include = _strings(include, "session.include")
            for i, value in enumerate(include):
                _choice(value, f"session.include[{i}]", [LOGPROBS])
        new["include"] = include
    _check_model(new)
    return new


def _audio_format(value: Any, param: str) -> dict[str, Any]:
    _expect(value, param, "an object")
    _known_keys(value, {"type", "rate"}, param)
    if "type" not in value:
        raise ProtocolError(
            "missing_required_parameter", f"Missing required parameter: '{param}.type'.", param
        )
    kind = _choice(value["type"], f"{param}.type", ["audio/pcm", "audio/pcmu", "audio/pcma"])
    if kind != "audio/pcm":
        return {"type": kind}
    rate = value.get("rate", INPUT_RATE)
    return {"type": kind, "rate": _number(rate, f"{param}.rate", INPUT_RATE, INPUT_RATE, True)}


def _noise_reduction(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    _expect(value, param, "an object")
    _known_keys(value, {"type"}, param)
    return {"type": _choice(value.get("type"), f"{param}.type", ["near_field", "far_field"])}


def _transcription(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    _expect(value, param, "an object")
    _known_keys(value, {"model", "language", "languages", "prompt", "keywords", "delay"}, param)
    result: dict[str, Any] = {"model": None, "language": None, "prompt": None}
    for key in ("model", "language", "prompt"):
        if value.get(key) is not None:
            _expect(value[key], f"{param}.{key}", "a string")
            result[key] = value[key] or None
    if value.get("languages") is not None:
        languages = _strings(value["languages"], f"{param}.languages")
        if not languages:
            raise ProtocolError(
                "array_below_min_length",
                f"Invalid '{param}.languages': empty array. Expected an array with minimum "
                "length 1, but got an empty array instead.",
                f"{param}.languages",
            )
        if result["language"]:
            raise ProtocolError(
                "invalid_value",
                f"'{param}.language' and '{param}.languages' cannot be combined.",
                f"{param}.languages",
            )
        result["languages"] = languages
    if value.get("keywords") is not None:
        result["keywords"] = _strings(value["keywords"], f"{param}.keywords")
    if value.get("delay") is not None:
        result["delay"] = _choice(
            value["delay"], f"{param}.delay", ["minimal", "low", "medium", "high", "xhigh"]
        )
    return result


def _turn_detection(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    _expect(value, param, "an object")
    kind = _choice(value.get("type"), f"{param}.type", ["server_vad", "semantic_vad"])
    responses = {"create_response", "interrupt_response"}
    for key in responses & set(value):
        _expect(value[key], f"{param}.{key}", "a boolean")
    if kind == "semantic_vad":
        _known_keys(value, {"type", "eagerness"} | responses, param)
        eagerness = value.get("eagerness", "auto")
        _choice(eagerness, f"{param}.eagerness", ["low", "medium", "high", "auto"])
        return {"type": kind, "eagerness": eagerness}
    _known_keys(
        value,
        {"type", "threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"}
        | responses,
        param,
    )
    result = {
        "type": kind,
        "threshold": _number(value.get("threshold", 0.5), f"{param}.threshold", 0, 1),
        "prefix_padding_ms": _number(
            value.get("prefix_padding_ms", 300), f"{param}.prefix_padding_ms", 0, 10_000, True
        ),
        "silence_duration_ms": _number(
            value.get("silence_duration_ms", 200), f"{param}.silence_duration_ms", 0, 10_000, True
        ),
    }
    if value.get("idle_timeout_ms") is not None:
        result["idle_timeout_ms"] = _number(
            value["idle_timeout_ms"], f"{param}.idle_timeout_ms", 5000, 30_000, True
        )
    return result


def _check_model(settings: dict[str, Any]) -> None:
    transcription = settings["transcription"] or {}
    model = transcription.get("model")
    param = "session.audio.input"
    if model in STREAMING_MODELS and settings["turn_detection"] is not None:
        raise ProtocolError(
            "invalid_value",
            f"Model '{model}' does not support turn detection: set '{param}.turn_detection' "
            "to null and commit the input audio buffer yourself.",
            f"{param}.turn_detection",
        )
    if model == "gpt-realtime-whisper" and transcription.get("prompt"):
        raise ProtocolError(
            "unsupported_parameter",
            f"Unsupported parameter: '{param}.transcription.prompt' is not supported with "
            f"model '{model}'.",
            f"{param}.transcription.prompt",
        )


# --- audio -------------------------------------------------------------------------------


def _g711_tables() -> dict[str, np.ndarray]:
    """G.711 µ-law and A-law bytes → 16-bit samples (ITU-T G.711's expansion)."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    ulaw = np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84)
    a = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (a & 0x70) >> 4
    mantissa = (a & 0x0F) << 4
    magnitude = np.where(
        segment == 0, mantissa + 8, (mantissa + 0x108) << np.maximum(segment - 1, 0)
    )
    alaw = np.where(a & 0x80, magnitude, -magnitude)
    return {"audio/pcmu": ulaw.astype("<i2"), "audio/pcma": alaw.astype("<i2")}


G711 = _g711_tables()


@dataclass
class Item:
    id: str
    start_ms: int
    end_ms: int
    done: bool = False


# --- the realtime session ----------------------------------------------------------------


class TranscriptionSession:
    """One WebSocket's transcription session, run the way OpenAI's server runs it.

    With server VAD, audio flows into one local engine session whose speech events become
    VAD events and commits, and whose finals become the transcription. A client commit ends
    that local session (finishing the speech in it) and a new one takes the next audio: the
    local engine reports when a session is done, not when one utterance found no words.
    Without turn detection, audio collects until a commit, then goes through a session of its
    own. Client events are handled one at a time, in order, as OpenAI does.
    """

    def __init__(self, ws: ServerConnection, engine: RealtimeEngine, max_seconds: float) -> None:
        self.ws = ws
        self.engine = engine
        self.id = new_id("sess")
        self.expires_at = int(time.time() + max_seconds)
        self.settings = default_settings()
        self.audio_ms = 0.0  # the session's audio clock: ms of input appended
        self.last_commit_ms = 0.0
        self.commits = 0
        self.previous_item_id: str | None = None
        self.odd_byte = b""
        self.local: EngineSession | None = None
        self.local_offset_ms = 0.0
        self.resampler: StreamResampler | None = None
        self.pump: asyncio.Task | None = None
        self.manual: list[tuple[bytes, int]] = []  # (pcm16, rate) since the last commit

    async def run(self) -> None:
        await self.send(server_event("session.created", session=self.session_object()))
        try:
            async for message in self.ws:
                await self.receive(message)
        except ConnectionClosed:
            pass
        finally:
            await self._abandon_local()

    async def send(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(event))

    def session_object(self) -> dict[str, Any]:
        transcription = self.settings["transcription"]
        if transcription is not None:
            transcription = {k: v for k, v in transcription.items() if k != "delay"}
        return {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": self.id,
            "expires_at": self.expires_at,
            "audio": {
                "input": {
                    "format": self.settings["format"],
                    "transcription": transcription,
                    "noise_reduction": self.settings["noise_reduction"],
                    "turn_detection": self.settings["turn_detection"],
                }
            },
            "include": self.settings["include"],
        }

    # --- client events -----------------------------------------------------------------

    async def receive(self, message: str | bytes) -> None:
        client_event_id = None
        try:
            if isinstance(message, bytes):
                raise ProtocolError(
                    "invalid_event",
                    "Expected a text WebSocket message; binary frames are not supported.",
                )
            try:
                event = json.loads(message)
            except ValueError:
                raise ProtocolError(
                    "invalid_json", "We could not parse the JSON body of your request."
                ) from None
            if not isinstance(event, dict):
                raise ProtocolError(
                    "invalid_event", f"Expected an event object, but got {_json_type(event)}."
                )
            if isinstance(event.get("event_id"), str):
                client_event_id = event["event_id"]
            kind = event.get("type")
            if kind is None:
                raise ProtocolError("invalid_event", "The 'type' field is missing.")
            handler = self.handlers.get(_choice(kind, "type", CLIENT_EVENTS))
            if handler is None:
                raise ProtocolError(
                    "invalid_value",
                    f"'{kind}' is not supported in transcription sessions.",
                    "type",
                )
            await handler(self, event)
        except ProtocolError as error:
            await self.send(error.event(client_event_id))
        except Exception:
            logger.exception("a client event failed")
            failure = "The server had an error while processing your request."
            await self.send(ProtocolError(None, failure, None, "server_error").event())

    async def on_session_update(self, event: dict[str, Any]) -> None:
        _known_keys(event, {"type", "event_id", "session"}, None)
        settings = apply_session_update(self.settings, event.get("session"))
        if _audio_settings(settings) != _audio_settings(self.settings):
            # the speech in progress finishes with the settings it started with
            await self._finish_local()
        if settings["format"] != self.settings["format"]:
            self.odd_byte = b""
        if settings["turn_detection"] is not None:
            self.manual = []  # audio only collects while commits are the client's
        self.settings = settings
        await self.send(server_event("session.updated", session=self.session_object()))

    async def on_append(self, event: dict[str, Any]) -> None:
        _known_keys(event, {"type", "event_id", "audio"}, None)
        if "audio" not in event:
            raise ProtocolError(
                "missing_required_parameter", "Missing required parameter: 'audio'.", "audio"
            )
        _expect(event["audio"], "audio", "a string")
        try:
            raw = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(
                "invalid_value", "Invalid 'audio': expected base64-encoded audio.", "audio"
            ) from None
        if len(raw) > MAX_APPEND_BYTES:
            raise ProtocolError(
                "invalid_value",
                f"Invalid 'audio': an append holds at most {MAX_APPEND_BYTES} bytes of audio, "
                f"not {len(raw)}.",
                "audio",
            )
        pcm16, rate = self._pcm16(raw)
        if not pcm16:
            return
        if self.settings["turn_detection"] is None:
            self.manual.append((pcm16, rate))
        else:
            await self._feed_local(pcm16, rate)
        self.audio_ms += len(pcm16) / 2 / rate * 1000

    async def on_commit(self, event: dict[str, Any]) -> None:
        _known_keys(event, {"type", "event_id"}, None)
        if self.settings["turn_detection"] is None:
            buffered_ms = sum(len(pcm) / 2 / rate * 1000 for pcm, rate in self.manual)
            if buffered_ms < MIN_COMMIT_MS:
                raise _commit_empty(buffered_ms)
            item = Item(new_id("item"), round(self.last_commit_ms), round(self.audio_ms))
            audio, self.manual = self.manual, []
            await self._commit_item(item)
            text, avg_logprob = await self._transcribe_buffer(audio)
            await self._transcribed(item, text, avg_logprob)
            return
        commits = self.commits
        await self._finish_local()
        pending_ms = self.audio_ms - self.last_commit_ms
        if pending_ms >= MIN_COMMIT_MS:
            # no speech in what is left: OpenAI commits it anyway and transcribes nothing
            item = Item(new_id("item"), round(self.last_commit_ms), round(self.audio_ms))
            await self._commit_item(item)
            await self._transcribed(item, "", None)
        elif self.commits == commits:
            raise _commit_empty(pending_ms)

    async def on_clear(self, event: dict[str, Any]) -> None:
        _known_keys(event, {"type", "event_id"}, None)
        self.manual = []
        if self.local is not None:
            await self.local.clear()
        self.last_commit_ms = self.audio_ms
        await self.send(server_event("input_audio_buffer.cleared"))

    handlers = {
        "session.update": on_session_update,
        "input_audio_buffer.append": on_append,
        "input_audio_buffer.commit": on_commit,
        "input_audio_buffer.clear": on_clear,
    }

    # --- audio into the local engine ---------------------------------------------------

    def _pcm16(self, raw: bytes) -> tuple[bytes, int]:
        kind = self.settings["format"]["type"]
        if kind in G711:
            return G711[kind][np.frombuffer(raw, dtype=np.uint8)].tobytes(), G711_RATE
        raw = self.odd_byte + raw  # a sample may straddle two appends
        cut = len(raw) - len(raw) % 2
        self.odd_byte = raw[cut:]
        return raw[:cut], INPUT_RATE

    def _local_config(self) -> SessionConfig:
        transcription = self.settings["transcription"] or {}
        detection = self.settings["turn_detection"] or {"type": "server_vad"}
        if detection["type"] == "semantic_vad":
            threshold, padding = 0.5, 300
            silence = SEMANTIC_SILENCE_MS[detection["eagerness"]]
        else:
            threshold = detection.get("threshold", 0.5)
            padding = detection.get("prefix_padding_ms", 300)
            silence = detection.get("silence_duration_ms", 200)
        languages = transcription.get("languages") or [None]
        prompt = transcription.get("prompt") or " ".join(transcription.get("keywords") or [])
        noise = self.settings["noise_reduction"]
        return SessionConfig(
            model=transcription.get("model") or DEFAULT_MODEL,
            language=transcription.get("language") or languages[0],
            prompt=prompt,
            vad_threshold=threshold,
            silence_ms=silence,
            prefix_padding_ms=padding,
            noise_reduction=noise["type"] if noise else None,
        )

    async def _feed_local(self, pcm16: bytes, rate: int) -> None:
        if self.local is None:
            self.local = await self.engine.open(self._local_config())
            self.local_offset_ms = self.audio_ms
            self.resampler = StreamResampler(rate, WHISPER_SAMPLE_RATE)
            self.pump = asyncio.create_task(self._pump(self.local, self.local_offset_ms))
        samples = self.resampler.process(pcm16)
        if samples:
            await self.local.append(samples)

    async def _finish_local(self) -> None:
        """End the local session: its speech is committed and transcribed before this returns."""
        local, pump, resampler = self.local, self.pump, self.resampler
        self.local = self.pump = self.resampler = None
        if local is None:
            return
        tail = resampler.process(b"", last=True)
        if tail:
            await local.append(tail)
        await local.close()
        await pump

    async def _abandon_local(self) -> None:
        """The client left: stop without transcribing what was in progress."""
        local, pump = self.local, self.pump
        self.local = self.pump = None
        if pump is not None:
            pump.cancel()
        if local is not None:
            await local.clear()
            await local.close()

    async def _pump(self, local: EngineSession, offset_ms: float) -> None:
        """The local session's events → VAD events, commits and transcriptions."""
        items: dict[str, Item] = {}
        waiting: Item | None = None  # committed, its transcript not in yet
        try:
            async for event in local.events():
                if isinstance(event, SpeechStarted):
                    if waiting is not None:
                        # the local engine finishes one utterance before the next starts:
                        # the last one had no words
                        await self._transcribed(waiting, "", None)
                        waiting = None
                    start = round(offset_ms + event.audio_ms)
                    item = items[event.item_id] = Item(new_id("item"), start, start)
                    await self.send(
                        server_event(
                            "input_audio_buffer.speech_started",
                            audio_start_ms=item.start_ms,
                            item_id=item.id,
                        )
                    )
                elif isinstance(event, SpeechStopped) and event.item_id in items:
                    item = items[event.item_id]
                    item.end_ms = round(offset_ms + event.audio_ms)
                    await self.send(
                        server_event(
                            "input_audio_buffer.speech_stopped",
                            audio_end_ms=item.end_ms,
                            item_id=item.id,
                        )
                    )
                    await self._commit_item(item)
                    waiting = item
                elif isinstance(event, Final) and event.item_id in items:
                    await self._transcribed(items[event.item_id], event.text, event.avg_logprob)
                    if waiting is items[event.item_id]:
                        waiting = None
            if waiting is not None:
                await self._transcribed(waiting, "", None)
        except Exception:
            logger.exception("the local engine failed")
            failure = "The server had an error while transcribing."
            await self.send(ProtocolError(None, failure, None, "server_error").event())

    async def _transcribe_buffer(self, audio: list[tuple[bytes, int]]) -> tuple[str, float | None]:
        """A committed buffer (no turn detection) through a local session of its own."""
        runs: list[tuple[int, bytearray]] = []  # consecutive appends at one rate, joined
        for pcm16, rate in audio:
            if runs and runs[-1][0] == rate:
                runs[-1][1].extend(pcm16)
            else:
                runs.append((rate, bytearray(pcm16)))
        local = await self.engine.open(self._local_config())
        for rate, pcm16 in runs:
            samples = resample(pcm16_to_float(bytes(pcm16)), rate, WHISPER_SAMPLE_RATE)
            await local.append(float_to_pcm16(samples))
        await local.close()
        finals = [e async for e in local.events() if isinstance(e, Final)]
        text = " ".join(f.text.strip() for f in finals if f.text.strip())
        scored = [(len(f.text), f.avg_logprob) for f in finals if f.avg_logprob is not None]
        if not scored:
            return text, None
        return text, sum(n * lp for n, lp in scored) / max(1, sum(n for n, _ in scored))

    # --- server events -----------------------------------------------------------------

    async def _commit_item(self, item: Item) -> None:
        previous, self.previous_item_id = self.previous_item_id, item.id
        self.last_commit_ms = item.end_ms
        self.commits += 1
        await self.send(
            server_event("input_audio_buffer.committed", previous_item_id=previous, item_id=item.id)
        )
        message = {
            "id": item.id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        for kind in ("conversation.item.added", "conversation.item.done"):
            await self.send(server_event(kind, previous_item_id=previous, item=message))

    async def _transcribed(self, item: Item, text: str, avg_logprob: float | None) -> None:
        if item.done:
            logger.warning("a second transcript for %s was dropped", item.id)
            return
        item.done = True
        transcription = self.settings["transcription"]
        if transcription is None:
            return  # nothing asked for a transcript
        model = transcription.get("model") or DEFAULT_MODEL
        include = LOGPROBS in (self.settings["include"] or [])
        text = text.strip()
        tokens = ([text] if model == "whisper-1" else re.findall(r"\s*\S+", text)) if text else []
        logprobs = [_logprob(token, avg_logprob or 0.0) for token in tokens]
        for token, logprob in zip(tokens, logprobs, strict=True):
            delta = server_event(
                "conversation.item.input_audio_transcription.delta",
                item_id=item.id,
                content_index=0,
                delta=token,
            )
            if include:
                delta["logprobs"] = [logprob]
            await self.send(delta)
        completed = server_event(
            "conversation.item.input_audio_transcription.completed",
            item_id=item.id,
            content_index=0,
            transcript=text,
            usage=_usage(model, (item.end_ms - item.start_ms) / 1000, len(tokens)),
        )
        if include:
            completed["logprobs"] = logprobs
        await self.send(completed)


def _audio_settings(settings: dict[str, Any]) -> tuple[str, ...]:
    """What a running local session depends on."""
    keys = ("format", "transcription", "noise_reduction", "turn_detection")
    return tuple(json.dumps(settings[key], sort_keys=True) for key in keys)


def _commit_empty(buffered_ms: float) -> ProtocolError:
    return ProtocolError(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least "
        f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
    )


def _logprob(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def _usage(model: str, seconds: float, output_tokens: int) -> dict[str, Any]:
    if model in DURATION_USAGE_MODELS:
        return {"type": "duration", "seconds": math.ceil(max(seconds, 0))}
    audio_tokens = math.ceil(max(seconds, 0) * AUDIO_TOKENS_PER_SECOND)
    return {
        "type": "tokens",
        "total_tokens": audio_tokens + output_tokens,
        "input_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        "output_tokens": output_tokens,
    }


# --- the batch endpoint ------------------------------------------------------------------

BATCH_FORMATS = ["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]
WHISPER_FORMATS = ["json", "text", "srt", "verbose_json", "vtt"]
DIARIZE_FORMATS = ["json", "text", "diarized_json"]
GPT_FORMATS = ["json", "text"]
FILE_FORMATS = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]
BATCH_MODEL = re.compile(
    r"whisper-1|gpt-transcribe|gpt-4o-transcribe-diarize"
    r"|gpt-4o(-mini)?-transcribe(-latest|-\d{4}-\d{2}-\d{2})?"
)


@dataclass
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def of(cls, status: int, data: Any) -> HttpResponse:
        """A JSON response."""
        return cls(status, json.dumps(data).encode())

    @classmethod
    def error(cls, status: int, error: ProtocolError) -> HttpResponse:
        return cls.of(status, error.body())


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """A multipart/form-data body → ({name: [values]}, {name: (filename, bytes)})."""
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise ProtocolError(
            "unsupported_content_type",
            f"Unsupported content type: '{content_type or 'none'}'. This API method only "
            "accepts 'multipart/form-data' requests, but you specified the header "
            f"'Content-Type: {content_type}'. Please try again with a supported content type.",
        )
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ProtocolError(None, "Could not parse multipart form: no boundary.")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise ProtocolError(None, "Could not parse multipart form.")
    for section in sections[1:-1]:
        head, found, content = section.partition(b"\r\n\r\n")
        if not found:
            raise ProtocolError(None, "Could not parse multipart form.")
        part = email.message_from_bytes(head.lstrip(b" \t").removeprefix(b"\r\n") + b"\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, content)
        else:
            fields.setdefault(name, []).append(content.decode("utf-8", errors="replace"))
    return fields, files


class BatchTranscriber:
    """``POST /v1/audio/transcriptions`` with OpenAI's validation, served by a batch engine."""

    def __init__(self, engine: BatchEngine) -> None:
        self.engine = engine
        # one recording at a time: the batch model already uses every core
        self.running = asyncio.Semaphore(1)

    async def handle(self, content_type: str, body: bytes) -> HttpResponse:
        try:
            return await self._handle(content_type, body)
        except ProtocolError as error:
            return HttpResponse.error(400, error)

    async def _handle(self, content_type: str, body: bytes) -> HttpResponse:
        fields, files = parse_form(content_type, body)

        def field(name: str, default: str | None = None) -> str | None:
            values = fields.get(name)
            return values[-1] if values else default

        def listed(name: str) -> list[str]:
            return fields.get(f"{name}[]", []) + fields.get(name, [])

        model = field("model")
        if not model:
            raise ProtocolError(None, "you must provide a model parameter", "model")
        if "file" not in files:
            raise ProtocolError(
                "missing_required_parameter", "Missing required parameter: 'file'.", "file"
            )
        if not BATCH_MODEL.fullmatch(model):
            return HttpResponse.error(
                404,
                ProtocolError(
                    "model_not_found",
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "model",
                ),
            )
        response_format = _choice(
            field("response_format", "json"), "response_format", BATCH_FORMATS
        )
        allowed = (
            WHISPER_FORMATS
            if model == "whisper-1"
            else DIARIZE_FORMATS
            if "diarize" in model
            else GPT_FORMATS
        )
        if response_format not in allowed:
            raise ProtocolError(
                "unsupported_value",
                f"response_format '{response_format}' is not compatible with model '{model}'. "
                f"Use {' or '.join(repr(f) for f in allowed)} instead.",
                "response_format",
            )
        include = listed("include")
        for value in include:
            _choice(value, "include", ["logprobs"])
        logprobs = "logprobs" in include
        if logprobs and (response_format != "json" or not supports_logprobs(model)):
            raise ProtocolError(
                "unsupported_value",
                "logprobs are only supported with response_format 'json' and the "
                "gpt-4o-transcribe and gpt-4o-mini-transcribe models.",
                "include",
            )
        granularities = listed("timestamp_granularities")
        for value in granularities:
            _choice(value, "timestamp_granularities", ["word", "segment"])
        if granularities and response_format != "verbose_json":
            raise ProtocolError(
                "unsupported_value",
                "timestamp_granularities is only supported with response_format 'verbose_json'.",
                "timestamp_granularities",
            )
        temperature = field("temperature")
        if temperature is not None:
            try:
                _number(float(temperature), "temperature", 0, 1)
            except ValueError:
                raise ProtocolError(
                    "invalid_type", "Invalid type for 'temperature': expected a decimal."
                ) from None
        language = field("language") or None
        if language is not None and not re.fullmatch(r"[a-z]{2}", language):
            raise ProtocolError(
                "invalid_value",
                f"Invalid language '{language}'. Language parameter must be specified in "
                "ISO-639-1 format.",
                "language",
            )
        filename, data = files["file"]
        if filename.rpartition(".")[2].lower() not in FILE_FORMATS:
            raise ProtocolError(None, f"Invalid file format. Supported formats: {FILE_FORMATS}")
        stream = (field("stream") or "false").lower() == "true" and model != "whisper-1"

        async with self.running:
            try:
                transcript, duration = await asyncio.to_thread(
                    _transcribe, self.engine, data, language, field("prompt") or ""
                )
            except AudioTooLong as exc:
                limit = describe_seconds(exc.limit_seconds)
                raise ProtocolError(
                    "invalid_value", f"Audio file is longer than {limit}, the maximum.", "file"
                ) from None
            except AudioDecodeError:
                raise ProtocolError(
                    "invalid_value", "Audio file might be corrupted or unsupported", "file"
                ) from None
        return _batch_response(
            transcript, model, response_format, duration, logprobs, granularities, stream
        )


def _transcribe(
    engine: BatchEngine, data: bytes, language: str | None, prompt: str
) -> tuple[Transcript, float]:
    """Transcribe as the worker does: audio formats only, counted, a few minutes at a time.

    25 MB of FLAC can hold hours of audio, gigabytes once decoded.
    """
    return transcribe_file(
        engine,
        io.BytesIO(data),
        language=language,
        prompt=prompt,
        max_seconds=django_settings.UPLOAD_MAX_SECONDS,
    )


def _batch_response(
    transcript: Transcript,
    model: str,
    response_format: str,
    duration: float,
    logprobs: bool,
    granularities: list[str],
    stream: bool,
) -> HttpResponse:
    text = transcript.text
    segments = [s for s in transcript.segments if s.text.strip()]
    words = [w for s in segments for w in s.words] or [
        (w, s.start_ms, s.end_ms, math.exp(s.avg_logprob or 0.0))
        for s in segments
        for w in s.text.split()
    ]
    tokens = [
        _logprob(("" if i == 0 else " ") + w, math.log(max(p, 1e-10)))
        for i, (w, _start, _end, p) in enumerate(words)
    ]
    if model in DURATION_USAGE_MODELS:
        usage = {"type": "duration", "seconds": math.ceil(duration)}
    else:
        usage = _usage(model, duration, len(tokens))
    if stream:
        lines = []
        for token in tokens:
            delta = {"type": "transcript.text.delta", "delta": token["token"]}
            if logprobs:
                delta["logprobs"] = [token]
            lines.append(delta)
        done = {"type": "transcript.text.done", "text": text, "usage": usage}
        if logprobs:
            done["logprobs"] = tokens
        lines.append(done)
        body = "".join(f"data: {json.dumps(line)}\n\n" for line in lines)
        return HttpResponse(200, body.encode(), "text/event-stream")
    if response_format == "text":
        return HttpResponse(200, (text + "\n").encode(), "text/plain; charset=utf-8")
    if response_format in {"srt", "vtt"}:
        return HttpResponse(200, _subtitles(segments, response_format).encode(), "text/plain")
    if response_format == "verbose_json":
        language = transcript.language or "en"
        result: dict[str, Any] = {
            "task": "transcribe",
            "language": LANGUAGE_NAMES.get(language, language),
            "duration": round(duration, 2),
            "text": text,
            "segments": [
                {
                    "id": i,
                    "seek": 0,
                    "start": s.start_ms / 1000,
                    "end": s.end_ms / 1000,
                    "text": " " + s.text.strip(),
                    "tokens": [],
                    "temperature": 0.0,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": _compression_ratio(s.text),
                    "no_speech_prob": 0.0,
                }
                for i, s in enumerate(segments)
            ],
            "usage": usage,
        }
        if "word" in granularities:
            result["words"] = [
                {"word": w, "start": start / 1000, "end": end / 1000}
                for s in segments
                for w, start, end, _p in s.words
            ]
        return HttpResponse.of(200, result)
    if response_format == "diarized_json":
        return HttpResponse.of(
            200,
            {
                "task": "transcribe",
                "duration": round(duration, 2),
                "text": text,
                "segments": [
                    {
                        "type": "transcript.text.segment",
                        "id": f"seg_{i:03d}",
                        "start": s.start_ms / 1000,
                        "end": s.end_ms / 1000,
                        "text": s.text.strip(),
                        "speaker": "A",
                    }
                    for i, s in enumerate(segments)
                ],
                "usage": usage,
            },
        )
    result = {"text": text, "usage": usage}
    if logprobs:
        result["logprobs"] = tokens
    return HttpResponse.of(200, result)


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return round(len(data) / max(1, len(zlib.compress(data))), 3)


def _subtitles(segments, kind: str) -> str:
    separator = "," if kind == "srt" else "."

    def stamp(ms: int) -> str:
        hours, rest = divmod(ms, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        seconds, millis = divmod(rest, 1000)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"

    cues = [f"{stamp(s.start_ms)} --> {stamp(s.end_ms)}\n{s.text.strip()}\n" for s in segments]
    if kind == "srt":
        return "\n".join(f"{i}\n{cue}" for i, cue in enumerate(cues, start=1))
    return "WEBVTT\n\n" + "\n".join(cues)


# --- the server --------------------------------------------------------------------------


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names


def parse_head(head: bytes) -> HttpRequest:
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


class RealtimeServer:
    """The OpenAI-compatible server; see the module docstring."""

    def __init__(
        self,
        api_key: str,
        *,
        realtime_engine: RealtimeEngine | None = None,
        batch_engine: BatchEngine | None = None,
        max_session_seconds: float = 3600.0,
    ) -> None:
        if not api_key:
            raise ValueError("the server needs an API key for its clients")
        if realtime_engine is None or batch_engine is None:
            from .engines.local import LocalBatchEngine, LocalConfig, LocalRealtimeEngine

            realtime_engine = realtime_engine or LocalRealtimeEngine(LocalConfig())
            batch_engine = batch_engine or LocalBatchEngine(LocalConfig())
        self.api_key = api_key
        self.realtime_engine = realtime_engine
        self.batch = BatchTranscriber(batch_engine)
        self.max_session_seconds = max_session_seconds
        self.front: asyncio.Server | None = None
        self.inner: Server | None = None  # the websockets server, on a loopback port
        self.inner_port = 0
        self.tunnels: set[asyncio.StreamWriter] = set()

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
        for writer in list(self.tunnels):
            writer.close()
        if self.front is not None:
            await self.front.wait_closed()

    # --- HTTP --------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            request = parse_head(head)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
            ConnectionError,
        ):
            writer.close()
            return
        if request.headers.get("upgrade", "").lower() == "websocket":
            if request.path == "/v1/realtime":
                await self._tunnel(head, reader, writer)
                return
            response = self._not_found(request)
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
        status_line = f"HTTP/1.1 {response.status} {http.HTTPStatus(response.status).phrase}\r\n"
        writer.write(
            (
                status_line
                + f"Content-Type: {response.content_type}\r\n"
                + f"Content-Length: {len(response.body)}\r\n"
                + "Connection: close\r\n\r\n"
            ).encode()
            + response.body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def _http(self, request: HttpRequest, reader: asyncio.StreamReader) -> HttpResponse:
        if request.method == "GET" and request.path == "/healthz":
            return HttpResponse.of(200, {"status": "ok"})
        refusal = self._check_key(request.headers.get("authorization", ""))
        if refusal is not None:
            return HttpResponse.error(401, refusal)
        if request.method != "POST" or request.path != "/v1/audio/transcriptions":
            return self._not_found(request)
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            return HttpResponse.error(
                411, ProtocolError(None, "Chunked uploads are not supported: send Content-Length.")
            )
        try:
            length = int(request.headers.get("content-length", "0"))
        except ValueError:
            return HttpResponse.error(400, ProtocolError(None, "Invalid Content-Length header."))
        if length > MAX_UPLOAD_BYTES:
            # read it all, as OpenAI does, so that the client sees the answer
            remaining = length
            while remaining > 0:
                chunk = await reader.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return HttpResponse.error(
                413,
                ProtocolError(
                    None,
                    f"Maximum content size limit ({MAX_UPLOAD_BYTES}) exceeded ({length} bytes "
                    "read)",
                    None,
                    "server_error",
                ),
            )
        body = await reader.readexactly(length)
        return await self.batch.handle(request.headers.get("content-type", ""), body)

    def _check_key(self, authorization: str, missing: str = NO_KEY) -> ProtocolError | None:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return ProtocolError(None, missing)
        key = key.strip()
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return ProtocolError(
                "invalid_api_key",
                f"Incorrect API key provided: {redact(key)}. You can find your API key at "
                f"{API_KEYS_URL}.",
            )
        return None

    @staticmethod
    def _not_found(request: HttpRequest) -> HttpResponse:
        return HttpResponse.error(
            404, ProtocolError(None, f"Invalid URL ({request.method} {request.path})")
        )

    async def _tunnel(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Hand a WebSocket upgrade to the websockets server, byte for byte."""
        try:
            inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", self.inner_port)
        except OSError:
            writer.close()
            return
        self.tunnels.update((writer, inner_writer))
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
                self.tunnels.discard(end)

    # --- WebSocket -----------------------------------------------------------------------

    async def _realtime(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        query = dict(parse_qsl(urlsplit(request.path).query))
        key = ""
        authorization = request.headers.get("Authorization", "")
        if authorization:
            key = authorization
        else:
            for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
                if protocol.strip().startswith("openai-insecure-api-key."):
                    key = "Bearer " + protocol.strip().removeprefix("openai-insecure-api-key.")
        refusal = self._check_key(key, NO_KEY_REALTIME)
        close_code = 3000
        if refusal is None:
            close_code = 4000
            refusal = _refuse_url(query, request.headers.get("OpenAI-Beta", ""))
        if refusal is not None:
            await ws.send(json.dumps(refusal.event()))
            reason = refusal.kind + (f".{refusal.code}" if refusal.code else "")
            await ws.close(close_code, reason)
            return
        session = TranscriptionSession(ws, self.realtime_engine, self.max_session_seconds)
        try:
            async with asyncio.timeout(self.max_session_seconds):
                await session.run()
        except TimeoutError:
            minutes = f"{self.max_session_seconds / 60:g}"
            await ws.close(1001, f"Your session hit the maximum duration of {minutes} minutes.")


def _refuse_url(query: dict[str, str], beta: str) -> ProtocolError | None:
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


def _select_subprotocol(connection: ServerConnection, subprotocols) -> str | None:
    # browsers offer "realtime" plus the key as a subprotocol; only "realtime" is echoed
    return "realtime" if "realtime" in subprotocols else None


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
