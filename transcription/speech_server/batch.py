"""``POST /v1/audio/transcriptions``: OpenAI's validation and answers, served by a batch engine.

Multipart in (parsed by ``python-multipart``); ``json``/``text``/``srt``/``vtt``/
``verbose_json``/``diarized_json`` out as each model allows, or server-sent events with
``stream=true``; OpenAI's error bodies. Subtitles come from the writers the site's exports use
(:mod:`subtitles.formats`, without Django) and ``verbose_json`` from the function the upload
API uses too.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.responses import Response

from subtitles.formats import ExportLine, to_srt, to_vtt

from ..audio import AudioDecodeError, AudioTooLong, describe_seconds
from ..batch.files import transcribe_file
from ..engines.base import BatchEngine, Transcript
from ..engines.openai.protocol import (
    ProtocolError,
    segment_words,
    supports_logprobs,
    token_logprob,
    usage,
    verbose_json,
)
from .http import error_reply, json_reply, reply
from .schema import choice, number

MAX_UPLOAD_BYTES = 26_214_400
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
class Form:
    """A parsed multipart/form-data body."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name: (filename, data)

    def field(self, name: str, default: str | None = None) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else default

    def listed(self, name: str) -> list[str]:
        """An array field, sent as ``name[]`` (as the SDK does) or as repeated ``name``."""
        return self.fields.get(f"{name}[]", []) + self.fields.get(name, [])


def parse_form(content_type: str, body: bytes) -> Form:
    """A multipart/form-data body, or OpenAI's error for one it cannot read."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise ProtocolError(
            "unsupported_content_type",
            f"Unsupported content type: '{content_type or 'none'}'. This API method only "
            "accepts 'multipart/form-data' requests, but you specified the header "
            f"'Content-Type: {content_type}'. Please try again with a supported content type.",
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise ProtocolError(None, "Could not parse multipart form: no boundary.")
    form = Form()
    ended: list[bool] = []

    def on_field(part) -> None:
        value = (part.value or b"").decode("utf-8", errors="replace")
        form.fields.setdefault(part.field_name.decode("utf-8", "replace"), []).append(value)

    def on_file(part) -> None:
        name = part.field_name.decode("utf-8", "replace")
        filename = (part.file_name or b"").decode("utf-8", "replace")
        form.files[name] = (filename, part.file_object.getvalue())

    parser = FormParser(
        "multipart/form-data",
        on_field,
        on_file,
        on_end=lambda: ended.append(True),
        boundary=boundary,
        # the body is in memory already (at most MAX_UPLOAD_BYTES): never spill to disk
        config={"MAX_MEMORY_FILE_SIZE": MAX_UPLOAD_BYTES + 1},
    )
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError:
        raise ProtocolError(None, "Could not parse multipart form.") from None
    if not ended:  # no closing boundary: the body was cut short
        raise ProtocolError(None, "Could not parse multipart form.")
    return form


@dataclass
class BatchRequest:
    """A validated transcription request."""

    model: str
    response_format: str
    filename: str
    data: bytes
    language: str | None = None
    prompt: str = ""
    logprobs: bool = False
    granularities: list[str] = field(default_factory=list)
    stream: bool = False


def read_request(form: Form) -> BatchRequest:
    """The request in ``form``, checked as OpenAI checks it; raises :class:`ProtocolError`."""
    model = form.field("model")
    if not model:
        raise ProtocolError(None, "you must provide a model parameter", "model")
    if "file" not in form.files:
        raise ProtocolError(
            "missing_required_parameter", "Missing required parameter: 'file'.", "file"
        )
    if not BATCH_MODEL.fullmatch(model):
        raise ModelNotFound(model)
    response_format = _response_format(form, model)
    include = form.listed("include")
    for value in include:
        choice(value, "include", ["logprobs"])
    logprobs = "logprobs" in include
    if logprobs and (response_format != "json" or not supports_logprobs(model)):
        raise ProtocolError(
            "unsupported_value",
            "logprobs are only supported with response_format 'json' and the "
            "gpt-4o-transcribe and gpt-4o-mini-transcribe models.",
            "include",
        )
    granularities = form.listed("timestamp_granularities")
    for value in granularities:
        choice(value, "timestamp_granularities", ["word", "segment"])
    if granularities and response_format != "verbose_json":
        raise ProtocolError(
            "unsupported_value",
            "timestamp_granularities is only supported with response_format 'verbose_json'.",
            "timestamp_granularities",
        )
    _check_temperature(form.field("temperature"))
    language = _language(form.field("language") or None)
    filename, data = form.files["file"]
    if filename.rpartition(".")[2].lower() not in FILE_FORMATS:
        raise ProtocolError(None, f"Invalid file format. Supported formats: {FILE_FORMATS}")
    return BatchRequest(
        model,
        response_format,
        filename,
        data,
        language=language,
        prompt=form.field("prompt") or "",
        logprobs=logprobs,
        granularities=granularities,
        stream=(form.field("stream") or "false").lower() == "true" and model != "whisper-1",
    )


class ModelNotFound(ProtocolError):
    """A model this server (and OpenAI) does not have: answered 404."""

    def __init__(self, model: str) -> None:
        super().__init__(
            "model_not_found",
            f"The model `{model}` does not exist or you do not have access to it.",
            "model",
        )


def _response_format(form: Form, model: str) -> str:
    response_format = choice(
        form.field("response_format", "json"), "response_format", BATCH_FORMATS
    )
    if model == "whisper-1":
        allowed = WHISPER_FORMATS
    else:
        allowed = DIARIZE_FORMATS if "diarize" in model else GPT_FORMATS
    if response_format not in allowed:
        raise ProtocolError(
            "unsupported_value",
            f"response_format '{response_format}' is not compatible with model '{model}'. "
            f"Use {' or '.join(repr(f) for f in allowed)} instead.",
            "response_format",
        )
    return response_format


def _check_temperature(temperature: str | None) -> None:
    if temperature is None:
        return
    try:
        number(float(temperature), "temperature", 0, 1)
    except ValueError:
        raise ProtocolError(
            "invalid_type", "Invalid type for 'temperature': expected a decimal."
        ) from None


def _language(language: str | None) -> str | None:
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        raise ProtocolError(
            "invalid_value",
            f"Invalid language '{language}'. Language parameter must be specified in "
            "ISO-639-1 format.",
            "language",
        )
    return language


class BatchTranscriber:
    """``POST /v1/audio/transcriptions`` with OpenAI's validation, served by a batch engine."""

    def __init__(self, engine: BatchEngine, max_seconds: float) -> None:
        self.engine = engine
        self.max_seconds = max_seconds
        # one recording at a time: the batch model already uses every core
        self.running = asyncio.Semaphore(1)

    async def handle(self, content_type: str, body: bytes) -> Response:
        try:
            request = read_request(parse_form(content_type, body))
            async with self.running:
                transcript, duration = await asyncio.to_thread(self._transcribe, request)
        except ModelNotFound as error:
            return error_reply(404, error)
        except ProtocolError as error:
            return error_reply(400, error)
        return render(transcript, duration, request)

    def _transcribe(self, request: BatchRequest) -> tuple[Transcript, float]:
        """Transcribe as the worker does: audio formats only, counted, a few minutes at a time.

        25 MB of FLAC can hold hours of audio, gigabytes once decoded.
        """
        try:
            return transcribe_file(
                self.engine,
                io.BytesIO(request.data),
                language=request.language,
                prompt=request.prompt,
                max_seconds=self.max_seconds,
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


def render(transcript: Transcript, duration: float, request: BatchRequest) -> Response:
    """The transcript in the format the request asked for."""
    text = transcript.text
    segments = [s for s in transcript.segments if s.text.strip()]
    words = segment_words(segments)
    tokens = [
        token_logprob(("" if i == 0 else " ") + w, math.log(max(p, 1e-10)))
        for i, (w, p) in enumerate(words)
    ]
    spent = usage(request.model, duration, len(tokens))
    response_format = request.response_format
    if request.stream:
        return reply(200, _events(text, tokens, spent, request.logprobs), "text/event-stream")
    if response_format == "text":
        return reply(200, (text + "\n").encode(), "text/plain; charset=utf-8")
    if response_format in {"srt", "vtt"}:
        lines = [ExportLine(s.start_ms, s.end_ms, "", s.text.strip()) for s in segments]
        writer = to_srt if response_format == "srt" else to_vtt
        return reply(200, writer(lines), "text/plain")
    if response_format == "verbose_json":
        words_asked = "word" in request.granularities
        return json_reply(200, verbose_json(transcript, duration, usage=spent, words=words_asked))
    if response_format == "diarized_json":
        return json_reply(200, _diarized_json(transcript, duration, spent))
    result: dict[str, Any] = {"text": text, "usage": spent}
    if request.logprobs:
        result["logprobs"] = tokens
    return json_reply(200, result)


def _events(
    text: str, tokens: list[dict[str, Any]], spent: dict[str, Any], logprobs: bool
) -> bytes:
    """``stream=true``: one ``transcript.text.delta`` per word, then ``transcript.text.done``."""
    lines: list[dict[str, Any]] = []
    for token in tokens:
        delta: dict[str, Any] = {"type": "transcript.text.delta", "delta": token["token"]}
        if logprobs:
            delta["logprobs"] = [token]
        lines.append(delta)
    done: dict[str, Any] = {"type": "transcript.text.done", "text": text, "usage": spent}
    if logprobs:
        done["logprobs"] = tokens
    lines.append(done)
    return "".join(f"data: {json.dumps(line)}\n\n" for line in lines).encode()


def _diarized_json(transcript: Transcript, duration: float, spent: dict[str, Any]) -> dict:
    segments = [s for s in transcript.segments if s.text.strip()]
    return {
        "task": "transcribe",
        "duration": round(duration, 2),
        "text": transcript.text,
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
        "usage": spent,
    }
