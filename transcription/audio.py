"""Audio helpers: PCM16 conversions, resampling and decoding files with PyAV."""

from __future__ import annotations

import numpy as np
import soxr

#: every engine decodes at 16 kHz; OpenAI's realtime input wants 24 kHz
WHISPER_SAMPLE_RATE = 16000
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000


class AudioDecodeError(ValueError):
    """The input is not audio we can read."""


def pcm16_to_float(pcm16: bytes) -> np.ndarray:
    if len(pcm16) % 2:
        raise AudioDecodeError("PCM16 audio must have an even number of bytes")
    return np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, from_rate, to_rate).astype(np.float32, copy=False)


class StreamResampler:
    """Resamples a PCM16 stream chunk by chunk without clicks at the joins."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        if not MIN_SAMPLE_RATE <= from_rate <= MAX_SAMPLE_RATE:
            raise AudioDecodeError(
                f"sample rate must be {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz, not {from_rate}"
            )
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = (
            None
            if from_rate == to_rate
            else soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32")
        )

    def process(self, pcm16: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm16
        samples = pcm16_to_float(pcm16)
        return float_to_pcm16(self._stream.resample_chunk(samples, last=last))


def decode_file(path_or_file, sample_rate: int = WHISPER_SAMPLE_RATE) -> np.ndarray:
    """Decode any audio or video container PyAV reads to mono float32 samples."""
    import av

    try:
        with av.open(path_or_file) as container:
            if not container.streams.audio:
                raise AudioDecodeError("the file has no audio track")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"could not decode the audio: {exc}") from exc
    if not chunks:
        raise AudioDecodeError("the file holds no audio samples")
    return np.concatenate(chunks).astype(np.float32, copy=False)
