"""The whisper.cpp batch engine: the bundled Whisper through pywhispercpp, on the CPU.

The model is ``WHISPER_CPP_MODEL`` when set (any ggml Whisper file), else the bundled tiny.en
converted once to ggml (:mod:`.ggml`), so this engine and the local one run the same weights.
It is loaded once per process. One whisper.cpp context decodes one recording at a time, so calls
take turns on a lock; the bindings release the GIL while decoding, so the rest of the process
keeps running.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..base import BatchEngine, EngineUnavailable, ProgressCallback, Transcript, TranscriptSegment
from .ggml import ConversionError, bundled_ggml_model

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000

# ggml_log_level: 2 info, 3 warn, 4 error (whisper.cpp reports every loading step at info)
LOG_WARN, LOG_ERROR = 3, 4


def _bindings() -> Any:
    try:
        import _pywhispercpp
    except ImportError as exc:
        raise EngineUnavailable(
            "the whispercpp engine needs the pywhispercpp package (pip install pywhispercpp)"
        ) from exc
    return _pywhispercpp


@dataclass(frozen=True)
class WhisperCppConfig:
    """Which ggml model whisper.cpp loads, where the bundled one is converted to, and threads."""

    #: any ggml Whisper file; empty: the bundled tiny.en, converted once into ``cache_dir``
    model_path: str = ""
    cache_dir: Path = Path("var/models")
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)


def model_path(config: WhisperCppConfig) -> Path:
    """The ggml file to load: the configured one, or the bundled model converted for it."""
    if config.model_path:
        path = Path(config.model_path)
        if not path.is_file():
            raise EngineUnavailable(f"WHISPER_CPP_MODEL={path} is not a file")
        return path
    try:
        return bundled_ggml_model(config.cache_dir)
    except ConversionError as exc:
        raise EngineUnavailable(
            f"no whisper.cpp model: set WHISPER_CPP_MODEL to a ggml file ({exc})"
        ) from exc
    except OSError as exc:
        raise EngineUnavailable(
            f"cannot write the converted model (check WHISPER_CPP_CACHE_DIR): {exc}"
        ) from exc


class _Log:
    """whisper.cpp's log, sent to Python logging instead of stderr.

    It prints a screenful of sizes on every load, so info goes to debug. Errors are also kept
    while a model loads: the bindings hand back a context object even when loading failed, and
    the log is the only sign of it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.installed = False
        self.errors: list[str] | None = None

    def __call__(self, level: int, text: str) -> None:
        text = text.rstrip()
        if not text:
            return
        if level >= LOG_ERROR and self.errors is not None:
            self.errors.append(text)
        python_level = {LOG_WARN: logging.WARNING, LOG_ERROR: logging.ERROR}.get(level)
        logger.log(python_level or logging.DEBUG, "%s", text)

    def install(self, pw: Any) -> None:
        with self.lock:
            if self.installed:
                return
            pw.whisper_log_set(self)
            # At interpreter exit whisper.cpp may still log when Python can no longer run the
            # callback (a fatal error), so give logging back to whisper.cpp before then.
            atexit.register(pw.whisper_log_set, None)
            self.installed = True

    @contextmanager
    def errors_of(self) -> Iterator[list[str]]:
        """The errors logged inside the block (one block at a time)."""
        with self.lock:
            self.errors = []
            try:
                yield self.errors
            finally:
                self.errors = None


_log = _Log()


class WhisperCppModel:
    """One loaded whisper.cpp context and the lock that serialises its use.

    Flash attention (whisper.cpp's default) computes attention in f16: a quarter faster here,
    for token log-probabilities a few hundredths away from the f32 ones.
    """

    def __init__(self, path: Path, *, flash_attn: bool = True) -> None:
        pw = _bindings()
        self.pw = pw
        self.path = Path(path)
        self.lock = threading.Lock()
        context_params = pw.whisper_context_default_params()
        context_params.use_gpu = False
        context_params.flash_attn = flash_attn
        _log.install(pw)
        with _log.errors_of() as errors:
            self.ctx = pw.whisper_init_from_file_with_params(str(self.path), context_params)
        if errors:
            self.ctx = None
            raise EngineUnavailable(f"whisper.cpp could not load {self.path}: {errors[0]}")
        self.eot = pw.whisper_token_eot(self.ctx)
        self.multilingual = bool(pw.whisper_is_multilingual(self.ctx))

    def close(self) -> None:
        with self.lock:
            if self.ctx is not None:
                self.pw.whisper_free(self.ctx)
                self.ctx = None


_loading = threading.Lock()
_loaded: dict[Path, WhisperCppModel] = {}


def whisper_model(config: WhisperCppConfig) -> WhisperCppModel:
    """The process's model of this file, loaded (and converted, the first time) on first use."""
    path = model_path(config)
    with _loading:
        if path not in _loaded:
            _loaded[path] = WhisperCppModel(path)
        return _loaded[path]


class _Progress:
    """Forwards progress as a percentage that only goes up."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.reported = 0.0

    def __call__(self, percent: float) -> None:
        percent = min(100.0, max(0.0, float(percent)))
        if self.callback is not None and percent > self.reported:
            self.reported = percent
            self.callback(percent)


class WhisperCppBatchEngine(BatchEngine):
    name = "whispercpp"

    #: Greedy decoding is re-run at a higher temperature when a window's result looks wrong
    #: (repetitive or improbable), as Whisper and faster-whisper do. 0 turns the retries off.
    temperature_increment = 0.2

    def __init__(self, config: WhisperCppConfig) -> None:
        self.config = config

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = "en",
        prompt: str = "",
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        model = whisper_model(self.config)
        pw = model.pw
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        duration_ms = samples.size * 1000 // SAMPLE_RATE
        report = _Progress(progress)

        greedy = pw.whisper_sampling_strategy.WHISPER_SAMPLING_GREEDY
        params = pw.whisper_full_default_params(greedy)
        params.n_threads = self.config.threads
        params.language = (language or "auto") if model.multilingual else "en"
        params.no_timestamps = False
        # Each window is still conditioned on the text of the windows before it; "no context"
        # only drops what the previous call left in the context: another recording's words.
        params.no_context = True
        params.suppress_nst = True  # Whisper's usual list of non-speech symbols
        params.temperature = 0.0
        params.temperature_inc = self.temperature_increment
        if prompt.strip():
            params.initial_prompt = prompt.strip()
        params.print_realtime = False
        params.print_timestamps = False
        params.print_special = False
        # The bindings call the progress callback only with print_progress on; with a callback
        # set they print nothing themselves.
        params.print_progress = True
        params.set_progress_callback(report)

        def new_segments(*args: Any) -> None:
            # called inside whisper_full, on the decoding thread, while we hold the lock
            count = pw.whisper_full_n_segments(model.ctx)
            if count and duration_ms:
                end_ms = pw.whisper_full_get_segment_t1(model.ctx, count - 1) * 10
                report(100.0 * end_ms / duration_ms)

        params.set_new_segment_callback(new_segments)

        with model.lock:
            status = pw.whisper_full(model.ctx, params, samples, samples.size)
            if status != 0:
                raise RuntimeError(f"whisper.cpp failed to transcribe (status {status})")
            segments = self._segments(model, duration_ms)
            detected = pw.whisper_lang_str(pw.whisper_full_lang_id(model.ctx))
        report(100.0)
        return Transcript(segments, detected or language)

    @staticmethod
    def _segments(model: WhisperCppModel, duration_ms: int) -> list[TranscriptSegment]:
        pw, ctx = model.pw, model.ctx
        segments = []
        for i in range(pw.whisper_full_n_segments(ctx)):
            text = pw.whisper_full_get_segment_text(ctx, i).decode("utf-8", errors="replace")
            if not text.strip():
                continue
            # timestamps, EOT and the other special tokens all sit at or above EOT
            logprobs = [
                data.plog
                for j in range(pw.whisper_full_n_tokens(ctx, i))
                if (data := pw.whisper_full_get_token_data(ctx, i, j)).id < model.eot
            ]
            # whisper.cpp counts in centiseconds, and its last timestamp may overshoot the audio
            start_ms = min(pw.whisper_full_get_segment_t0(ctx, i) * 10, duration_ms)
            end_ms = min(pw.whisper_full_get_segment_t1(ctx, i) * 10, duration_ms)
            segments.append(
                TranscriptSegment(
                    start_ms,
                    max(start_ms, end_ms),
                    text.strip(),
                    float(np.mean(logprobs)) if logprobs else None,
                )
            )
        return segments
