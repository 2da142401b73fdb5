"""Audio helpers: PCM16 conversions, resampling, and decoding uploaded files safely with PyAV.

An uploaded file is hostile until proven otherwise. FFmpeg opens only the audio demuxers listed
here and no protocol at all (an HLS playlist or an ffconcat file would otherwise fetch URLs), and
every decode counts its samples, since a header may lie about the length: a few megabytes of
FLAC can hold hours of silence, gigabytes once decoded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np
import soxr

#: every engine decodes at 16 kHz; OpenAI's realtime input wants 24 kHz
WHISPER_SAMPLE_RATE = 16000
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000


#: FFmpeg's names of the demuxers an upload may use. FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2" demuxer
#: passes because one of its names is listed; hls, concat, image and subtitle demuxers do not.
AUDIO_DEMUXERS = "wav,mp3,mp4,m4a,ogg,matroska,webm,flac"
SAFE_OPTIONS = {
    "format_whitelist": AUDIO_DEMUXERS,
    # FFmpeg always reads from a file we opened, so it needs no protocol of its own: the empty
    # list refuses every one (http, tcp, file, ...) to a demuxer that would open another input.
    "protocol_whitelist": "",
}
#: Batch engines get this much audio at a time. What a chunk costs grows with its length, most
#: of all in faster-whisper's VAD (one ONNX batch of up to 320 s): with 2 minutes a worker's peak
#: stays near what loading the model takes; 5 minutes add 150 MB to it.
CHUNK_SECONDS = 120
#: a chunk ends at the quietest moment of its last stretch of this length, so no word is cut
CUT_SEARCH_SECONDS = 12
CUT_WINDOW = WHISPER_SAMPLE_RATE // 20  # 50 ms


class AudioDecodeError(ValueError):
    """The input is not audio we can read."""


class AudioTooLong(AudioDecodeError):
    """The audio goes on past the limit it was decoded with."""

    def __init__(self, limit_seconds: float) -> None:
        self.limit_seconds = limit_seconds
        super().__init__(f"it is longer than {describe_seconds(limit_seconds)}")


def describe_seconds(seconds: float) -> str:
    """A length in the unit people would use: 4 hours, 1.5 hours, 10 minutes, 45 seconds."""
    if seconds >= 3600:
        unit, size = "hour", 3600
    elif seconds >= 60:
        unit, size = "minute", 60
    else:
        unit, size = "second", 1
    amount = round(seconds / size, 1)
    return f"{amount:g} {unit}{'' if amount == 1 else 's'}"


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


class AudioFile:
    """An audio file opened for decoding, with FFmpeg's safety options; a context manager.

    ``source`` is a path or an open binary file (an upload). Paths are opened here, so FFmpeg
    itself never opens anything.
    """

    def __init__(self, source: str | os.PathLike | IO[bytes]) -> None:
        self.source = source
        self._opened: IO[bytes] | None = None

    def __enter__(self) -> AudioFile:
        import av

        file = self.source
        if isinstance(file, str | os.PathLike):
            file = self._opened = open(file, "rb")
        try:
            self.container = av.open(file, container_options=SAFE_OPTIONS)
        except av.error.FFmpegError as exc:
            self._close_file()
            raise AudioDecodeError("its format is not one of the audio formats accepted") from exc
        if not self.container.streams.audio:
            self.__exit__()
            raise AudioDecodeError("the file has no audio track")
        self.stream = self.container.streams.audio[0]
        return self

    def __exit__(self, *exc_info) -> None:
        self.container.close()
        self._close_file()

    def _close_file(self) -> None:
        if self._opened is not None:
            self._opened.close()

    @property
    def declared_seconds(self) -> float | None:
        """The length the container's header gives (or FFmpeg estimates): a hint that may lie."""
        import av

        if self.container.duration and self.container.duration > 0:
            return self.container.duration / av.time_base
        if self.stream.duration and self.stream.time_base:
            return float(self.stream.duration * self.stream.time_base)
        return None

    def samples(self, max_seconds: float | None = None) -> Iterator[np.ndarray]:
        """Mono float32 at 16 kHz, a few milliseconds at a time.

        Raises :class:`AudioTooLong` as soon as the audio goes past ``max_seconds``.
        """
        limit = None if max_seconds is None else round(max_seconds * WHISPER_SAMPLE_RATE)
        count = 0
        for piece in self._decoded():
            count += piece.size
            if limit is not None and count > limit:
                raise AudioTooLong(max_seconds)
            yield piece

    def _decoded(self) -> Iterator[np.ndarray]:
        import av

        resampler = av.AudioResampler(format="flt", layout="mono", rate=WHISPER_SAMPLE_RATE)
        try:
            for frame in self.container.decode(self.stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
        except (av.error.FFmpegError, ValueError) as exc:
            raise AudioDecodeError(f"could not decode the audio: {exc}") from exc

    def chunks(
        self, max_seconds: float | None = None, chunk_seconds: float = CHUNK_SECONDS
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(first sample, samples) of at most ``chunk_seconds`` each, cut in pauses."""
        return cut_chunks(
            self.samples(max_seconds),
            round(chunk_seconds * WHISPER_SAMPLE_RATE),
            CUT_SEARCH_SECONDS * WHISPER_SAMPLE_RATE,
        )


def decode_file(
    source: str | os.PathLike | IO[bytes], max_seconds: float | None = None
) -> np.ndarray:
    """A whole audio file as mono float32 at 16 kHz; only for audio known to be short.

    Raises :class:`AudioTooLong` once it goes past ``max_seconds``, before decoding more.
    """
    with AudioFile(source) as audio:
        pieces = list(audio.samples(max_seconds))
    if not pieces:
        raise AudioDecodeError("the file holds no audio samples")
    return np.concatenate(pieces).astype(np.float32, copy=False)


def quietest_cut(audio: np.ndarray, search_from: int, search_to: int) -> int:
    """The middle of the quietest 50 ms of ``audio[search_from:search_to]``."""
    window = audio[search_from:search_to]
    frames = window[: window.size // CUT_WINDOW * CUT_WINDOW].reshape(-1, CUT_WINDOW)
    if not frames.size:
        return search_to
    quietest = int(np.argmin(np.mean(frames**2, axis=1)))
    return search_from + quietest * CUT_WINDOW + CUT_WINDOW // 2


def cut_chunks(
    pieces: Iterable[np.ndarray], chunk_samples: int, search_samples: int
) -> Iterator[tuple[int, np.ndarray]]:
    """Regroup a stream of samples into chunks of at most ``chunk_samples``.

    Each chunk ends at the quietest moment of its last ``search_samples``, so that no word is
    cut in half; yields (the chunk's first sample in the stream, its samples). Only about one
    chunk is held at a time, however long the stream.
    """
    search_from = max(chunk_samples - search_samples, chunk_samples // 2)
    buffered: list[np.ndarray] = []
    size = start = 0
    for piece in pieces:
        buffered.append(piece)
        size += piece.size
        while size >= chunk_samples:
            audio = np.concatenate(buffered)
            cut = quietest_cut(audio, search_from, chunk_samples)
            # a copy, so the chunk handed out does not keep the rest alive (or the other way)
            rest = audio[cut:].copy()
            yield start, audio[:cut]
            buffered, size, start = [rest], rest.size, start + cut
    if size:
        yield start, np.concatenate(buffered)
