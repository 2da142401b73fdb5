"""A realtime session's input: OpenAI's audio formats in, and the local engine's settings.

Clients append 24 kHz PCM16 or G.711 (µ-law, A-law at 8 kHz); the local engine takes 16 kHz
PCM16. Turn detection maps onto the local engine's VAD: ``semantic_vad`` becomes the server
VAD with a silence set by its eagerness.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..audio import WHISPER_SAMPLE_RATE, float_to_pcm16, pcm16_to_float, resample
from ..engines.base import Final, RealtimeEngine, SessionConfig
from ..engines.openai.protocol import DEFAULT_MODEL, SAMPLE_RATE

G711_RATE = 8000
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 600, "auto": 600, "high": 300}


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


class InputDecoder:
    """Appended bytes in the session's format → (PCM16, its rate)."""

    def __init__(self) -> None:
        self.odd_byte = b""

    def reset(self) -> None:
        """The format changed: a half sample of the old one means nothing in the new."""
        self.odd_byte = b""

    def decode(self, raw: bytes, audio_format: dict[str, Any]) -> tuple[bytes, int]:
        kind = audio_format["type"]
        if kind in G711:
            return G711[kind][np.frombuffer(raw, dtype=np.uint8)].tobytes(), G711_RATE
        raw = self.odd_byte + raw  # a sample may straddle two appends
        cut = len(raw) - len(raw) % 2
        self.odd_byte = raw[cut:]
        return raw[:cut], SAMPLE_RATE


def local_config(settings: dict[str, Any]) -> SessionConfig:
    """The local engine's session settings for a transcription session's settings."""
    transcription = settings["transcription"] or {}
    detection = settings["turn_detection"] or {"type": "server_vad"}
    if detection["type"] == "semantic_vad":
        threshold, padding = 0.5, 300
        silence = SEMANTIC_SILENCE_MS[detection["eagerness"]]
    else:
        threshold = detection.get("threshold", 0.5)
        padding = detection.get("prefix_padding_ms", 300)
        silence = detection.get("silence_duration_ms", 200)
    languages = transcription.get("languages") or [None]
    prompt = transcription.get("prompt") or " ".join(transcription.get("keywords") or [])
    noise = settings["noise_reduction"]
    return SessionConfig(
        model=transcription.get("model") or DEFAULT_MODEL,
        language=transcription.get("language") or languages[0],
        prompt=prompt,
        vad_threshold=threshold,
        silence_ms=silence,
        prefix_padding_ms=padding,
        noise_reduction=noise["type"] if noise else None,
    )


async def transcribe_buffer(
    engine: RealtimeEngine, config: SessionConfig, audio: list[tuple[bytes, int]]
) -> tuple[str, float | None]:
    """A committed buffer (no turn detection) through a local session of its own.

    Returns the text and its average log-probability, weighted by the length of each final.
    """
    runs: list[tuple[int, bytearray]] = []  # consecutive appends at one rate, joined
    for pcm16, rate in audio:
        if runs and runs[-1][0] == rate:
            runs[-1][1].extend(pcm16)
        else:
            runs.append((rate, bytearray(pcm16)))
    local = await engine.open(config)
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
