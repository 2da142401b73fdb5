"""The OpenAI batch engine: ``POST {OPENAI_BASE_URL}/audio/transcriptions``.

The recording is cut at pauses into pieces the endpoint accepts, each sent as a 16 kHz WAV.
What comes back depends on the model (``OpenAIConfig.batch_model``):

* ``whisper-1`` answers ``verbose_json`` with segment timestamps and their ``avg_logprob``;
* ``gpt-4o-transcribe`` and ``gpt-4o-mini-transcribe`` answer ``json`` only, with token
  ``logprobs`` when asked through ``include[]``; they give no timestamps, so each piece (at most
  ``SHORT_PIECE_SECONDS``) becomes one segment;
* other models (``gpt-transcribe``, the diarizing one) answer plain ``json``.

Uses the standard library's HTTP client: the project does not depend on an HTTP client package.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
import wave
from typing import Any

import numpy as np

from ..audio import WHISPER_SAMPLE_RATE, float_to_pcm16, quietest_cut
from .base import BatchEngine, EngineUnavailable, OpenAIConfig, Transcript, TranscriptSegment

logger = logging.getLogger(__name__)

#: whisper-1 pieces: 10 minutes of 16 kHz PCM16 is 19.2 MB, under the 25 MiB upload limit
LONG_PIECE_SECONDS = 600
#: pieces for models without timestamps: one segment each, so keep them sentence-sized
SHORT_PIECE_SECONDS = 30
#: a piece ends at the quietest moment of its last stretch of this length
CUT_SEARCH_SECONDS = 10
#: shorter pieces cannot hold a word, and the endpoint refuses audio under 0.1 s
MIN_PIECE_SECONDS = 0.1
REQUEST_TIMEOUT = 600
RETRIES = 2  # after a 429 or a 5xx

#: the language names verbose_json reports, by ISO-639-1 code
LANGUAGE_NAMES = {
    "ar": "arabic",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "hi": "hindi",
    "it": "italian",
    "ja": "japanese",
    "ko": "korean",
    "nl": "dutch",
    "pl": "polish",
    "pt": "portuguese",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
    "uk": "ukrainian",
    "zh": "chinese",
}
LANGUAGE_CODES = {name: code for code, name in LANGUAGE_NAMES.items()}


class OpenAITranscriptionError(RuntimeError):
    """The endpoint refused the request; the message is the one from its JSON error body."""

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def supports_logprobs(model: str) -> bool:
    return model.startswith(("gpt-4o-transcribe", "gpt-4o-mini-transcribe")) and (
        "diarize" not in model
    )


def request_fields(model: str, language: str | None, prompt: str) -> list[tuple[str, str]]:
    """The form fields for ``model``, in the response format each model supports."""
    fields = [("model", model)]
    if model == "whisper-1":
        fields += [("response_format", "verbose_json"), ("timestamp_granularities[]", "segment")]
    else:
        fields.append(("response_format", "json"))
        if supports_logprobs(model):
            fields.append(("include[]", "logprobs"))
    if language:
        fields.append(("language", language))
    if prompt and "diarize" not in model:
        fields.append(("prompt", prompt))
    return fields


def wav_bytes(samples: np.ndarray, rate: int = WHISPER_SAMPLE_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(float_to_pcm16(samples))
    return out.getvalue()


def multipart(fields: list[tuple[str, str]], filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = "----captions" + secrets.token_hex(12)
    parts = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: audio/wav\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def pieces(audio: np.ndarray, max_seconds: float) -> list[tuple[int, np.ndarray]]:
    """(start sample, samples): cut where it is quietest near each piece's end."""
    rate = WHISPER_SAMPLE_RATE
    limit = int(max_seconds * rate)
    result = []
    start = 0
    while audio.size - start > limit:
        cut = quietest_cut(audio, start + limit - CUT_SEARCH_SECONDS * rate, start + limit)
        result.append((start, audio[start:cut]))
        start = cut
    result.append((start, audio[start:]))
    return result


def error_message(body: bytes, status: int) -> tuple[str, str | None]:
    """(message, code) from an OpenAI error body: ``{"error": {"message", "code", …}}``."""
    try:
        error = json.loads(body)["error"]
        return str(error.get("message") or f"HTTP {status}"), error.get("code")
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"HTTP {status}: {body[:200].decode(errors='replace')}", None


class OpenAIBatchEngine(BatchEngine):
    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        api_key = self.config.api_key
        if not api_key:
            raise EngineUnavailable("OPENAI_API_KEY is not set")
        model = self.config.batch_model
        url = self.config.base_url.rstrip("/") + "/audio/transcriptions"
        max_seconds = LONG_PIECE_SECONDS if model == "whisper-1" else SHORT_PIECE_SECONDS
        parts = pieces(np.asarray(audio, dtype=np.float32), max_seconds)
        total = max(audio.size, 1)
        segments: list[TranscriptSegment] = []
        detected = None
        for start, samples in parts:
            if samples.size < MIN_PIECE_SECONDS * WHISPER_SAMPLE_RATE:
                continue
            body, content_type = multipart(
                request_fields(model, language, prompt), "audio.wav", wav_bytes(samples)
            )
            result = self._post(url, api_key, body, content_type)
            offset_ms = start * 1000 // WHISPER_SAMPLE_RATE
            duration_ms = samples.size * 1000 // WHISPER_SAMPLE_RATE
            segments += self._segments(result, offset_ms, duration_ms)
            detected = detected or LANGUAGE_CODES.get(str(result.get("language")).lower())
            if progress:
                progress(min(100.0, 100.0 * (start + samples.size) / total))
        if progress:
            progress(100.0)
        return Transcript(segments, language or detected)

    @staticmethod
    def _segments(result: dict[str, Any], offset_ms: int, duration_ms: int):
        found = []
        for s in result.get("segments") or []:
            text = str(s.get("text") or "").strip()
            if text:
                found.append(
                    TranscriptSegment(
                        offset_ms + round(float(s["start"]) * 1000),
                        offset_ms + round(float(s["end"]) * 1000),
                        text,
                        s.get("avg_logprob"),
                    )
                )
        text = str(result.get("text") or "").strip()
        if found or not text:
            return found
        logprobs = [float(t["logprob"]) for t in result.get("logprobs") or [] if "logprob" in t]
        avg_logprob = sum(logprobs) / len(logprobs) if logprobs else None
        return [TranscriptSegment(offset_ms, offset_ms + duration_ms, text, avg_logprob)]

    def _post(self, url: str, api_key: str, body: bytes, content_type: str) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": content_type,
            "Accept": "application/json",
        }
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                    payload = response.read()
            except urllib.error.HTTPError as exc:
                with exc:
                    message, code = error_message(exc.read(), exc.code)
                if exc.code in {401, 403}:
                    refused = f"OpenAI refused the key ({exc.code}): {message}"
                    raise EngineUnavailable(refused) from None
                retry = (exc.code == 429 and code != "insufficient_quota") or exc.code >= 500
                if not retry or attempt >= RETRIES:
                    raise OpenAITranscriptionError(message, status=exc.code, code=code) from None
                attempt += 1
                logger.warning("transcription request failed (%s), retrying: %s", exc.code, message)
                time.sleep(2**attempt)
                continue
            except OSError as exc:  # URLError, refused connections, timeouts
                reason = getattr(exc, "reason", exc)
                raise EngineUnavailable(f"cannot reach {url}: {reason}") from exc
            try:
                return json.loads(payload)
            except ValueError as exc:
                raise OpenAITranscriptionError(
                    f"the answer from {url} is not JSON", status=response.status
                ) from exc
