"""The OpenAI batch engine: ``audio.transcriptions.create`` of the official SDK.

The recording is cut at pauses into pieces the endpoint accepts, each sent as a 16 kHz WAV to
``{OPENAI_BASE_URL}/audio/transcriptions``. What comes back depends on the model
(``OpenAIConfig.batch_model``):

* ``whisper-1`` answers ``verbose_json`` with segment timestamps and their ``avg_logprob``;
* ``gpt-4o-transcribe`` and ``gpt-4o-mini-transcribe`` answer ``json`` only, with token
  ``logprobs`` when asked through ``include``; they give no timestamps, so each piece (at most
  ``SHORT_PIECE_SECONDS``) becomes one segment;
* other models (``gpt-transcribe``, the diarizing one) answer plain ``json``.

The SDK retries rate limits and server errors (``RETRIES`` times, with its backoff).
"""

from __future__ import annotations

import io
import logging
import wave
from typing import Any

import numpy as np
import openai

from ...audio import WHISPER_SAMPLE_RATE, float_to_pcm16, quietest_cut
from ..base import BatchEngine, EngineUnavailable, OpenAIConfig, Transcript, TranscriptSegment
from .protocol import LANGUAGE_CODES, logprob_values, mean, supports_logprobs

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


class OpenAITranscriptionError(RuntimeError):
    """The endpoint refused the request; the message is the one from its JSON error body."""

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def request_options(model: str, language: str | None, prompt: str) -> dict[str, Any]:
    """The arguments of ``transcriptions.create`` for ``model``, in the format it supports."""
    options: dict[str, Any] = {"model": model}
    if model == "whisper-1":
        options |= {"response_format": "verbose_json", "timestamp_granularities": ["segment"]}
    else:
        options["response_format"] = "json"
        if supports_logprobs(model):
            options["include"] = ["logprobs"]
    if language:
        options["language"] = language
    if prompt and "diarize" not in model:
        options["prompt"] = prompt
    return options


def wav_bytes(samples: np.ndarray, rate: int = WHISPER_SAMPLE_RATE) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(float_to_pcm16(samples))
    return out.getvalue()


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


class OpenAIBatchEngine(BatchEngine):
    """Transcribes recordings through OpenAI's ``/audio/transcriptions`` (or a compatible one)."""

    name = "openai"

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        if not self.config.api_key:
            raise EngineUnavailable("OPENAI_API_KEY is not set")
        model = self.config.batch_model
        max_seconds = LONG_PIECE_SECONDS if model == "whisper-1" else SHORT_PIECE_SECONDS
        parts = pieces(np.asarray(audio, dtype=np.float32), max_seconds)
        total = max(audio.size, 1)
        segments: list[TranscriptSegment] = []
        detected = None
        with self._client() as client:
            for start, samples in parts:
                if samples.size < MIN_PIECE_SECONDS * WHISPER_SAMPLE_RATE:
                    continue
                result = self._create(client, request_options(model, language, prompt), samples)
                offset_ms = start * 1000 // WHISPER_SAMPLE_RATE
                duration_ms = samples.size * 1000 // WHISPER_SAMPLE_RATE
                segments += self._segments(result, offset_ms, duration_ms)
                spoken = str(getattr(result, "language", None)).lower()
                detected = detected or LANGUAGE_CODES.get(spoken)
                if progress:
                    progress(min(100.0, 100.0 * (start + samples.size) / total))
        if progress:
            progress(100.0)
        return Transcript(segments, language or detected)

    def _client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=self.config.api_key,
            base_url=self.config.base_url,
            max_retries=RETRIES,
            timeout=REQUEST_TIMEOUT,
        )

    def _create(self, client: openai.OpenAI, options: dict[str, Any], samples: np.ndarray) -> Any:
        """One piece through the endpoint; its refusals as this module's exceptions."""
        url = self.config.base_url.rstrip("/") + "/audio/transcriptions"
        try:
            return client.audio.transcriptions.create(
                file=("audio.wav", wav_bytes(samples), "audio/wav"), **options
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            message = error_message(exc)
            refused = f"OpenAI refused the key ({exc.status_code}): {message}"
            raise EngineUnavailable(refused) from None
        except openai.APIStatusError as exc:
            message = error_message(exc)
            raise OpenAITranscriptionError(message, status=exc.status_code, code=exc.code) from None
        except openai.APIConnectionError as exc:  # refused connections, timeouts
            raise EngineUnavailable(f"cannot reach {url}: {exc.__cause__ or exc}") from exc
        except openai.APIResponseValidationError as exc:
            raise OpenAITranscriptionError(
                f"the answer from {url} is not a transcript", status=exc.status_code
            ) from exc

    @staticmethod
    def _segments(result: Any, offset_ms: int, duration_ms: int) -> list[TranscriptSegment]:
        found = []
        for s in getattr(result, "segments", None) or []:
            text = str(s.text or "").strip()
            if text:
                found.append(
                    TranscriptSegment(
                        offset_ms + round(float(s.start) * 1000),
                        offset_ms + round(float(s.end) * 1000),
                        text,
                        s.avg_logprob,
                    )
                )
        text = str(getattr(result, "text", None) or "").strip()
        if found or not text:
            return found
        avg_logprob = mean(logprob_values(getattr(result, "logprobs", None)))
        return [TranscriptSegment(offset_ms, offset_ms + duration_ms, text, avg_logprob)]


def error_message(exc: openai.APIStatusError) -> str:
    """The message of an OpenAI error body (``{"error": {"message", …}}``), or the status."""
    body = exc.body
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {exc.status_code}: {str(body)[:200]}"
