"""Long-form test programmes built from the shared/audio clips (scores: programme_scoring.py).

A programme lays the clips of ``tests/speech.py`` on one 16 kHz timeline so that it reproduces
a condition of real meetings (issue 10): pauses of 0.15-3 s, runs of speech with no real
pause, a level change, two voices taking turns, room noise, a quiet far speaker.

Each clip is first brought to the speech level ``NOMINAL_DB`` (a simplified ITU-T P.56 active
level), so that gains are exact level differences, and trimmed to its speech plus ``PAD_MS``
either side. A 10 ms frame more than ``PAUSE_BELOW_DB`` under the speech level is a pause; a
clip whose noise floor is louder than that (LibriSpeech 61) is trimmed just above its floor and
kept out of the runs. An utterance's ``start_ms``/``end_ms`` are where its speech starts and
ends, on the 10 ms grid; the samples are on the PCM16 grid, clipped at full scale, as written.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import wave
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .speech import AUDIO_DIR, Clip, clips

RATE = 16000
FRAME = RATE // 100  # 10 ms: every measurement and placement is on this grid
NOMINAL_DB = -26.0  # speech level (dBFS, active) of every clip at gain 0
PAUSE_BELOW_DB = 20.0
MIN_SPEECH_FRAMES = 3  # 30 ms
PAD_MS = 30
LEAD_MS = 1000
TAIL_MS = 2000  # long enough for an end-of-speech rule to fire after the last word
MAX_RUN_PAUSE_MS = 250
NOISE_SNR_DB = 10.0
SEED = 10  # the number; every programme draws from its own stream of it


@dataclass(frozen=True)
class Utterance:
    """One clip placed on a programme's timeline."""

    clip: str
    speaker: str
    start_ms: int
    end_ms: int
    reference: str
    gain_db: float  # relative to NOMINAL_DB


@dataclass(eq=False)
class Programme:
    name: str
    condition: str
    samples: np.ndarray  # float32, 16 kHz mono, on the PCM16 grid
    utterances: list[Utterance]

    @property
    def duration_ms(self) -> int:
        return len(self.samples) * 1000 // RATE

    @property
    def reference(self) -> str:
        return " ".join(u.reference for u in self.utterances)

    def pcm16(self) -> bytes:
        return np.round(self.samples * 32768).astype("<i2").tobytes()


Utterances = Sequence[Utterance]


# Measuring, from the samples
def frame_power(samples: np.ndarray) -> np.ndarray:
    """Mean power of each whole 10 ms frame."""
    frames = len(samples) // FRAME
    blocks = np.asarray(samples[: frames * FRAME], dtype=np.float64).reshape(frames, FRAME)
    return (blocks**2).mean(axis=1)


def _db(power: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.maximum(power, 1e-12))


def speech_level_db(samples: np.ndarray) -> float:
    """Active speech level in dBFS: the mean power of the frames within 15.9 dB of it (P.56's
    margin), found by iterating from the plain mean; pauses do not lower it."""
    power = frame_power(samples)
    level = power.mean()
    for _ in range(30):
        active = power[power >= level / 10**1.59]
        if len(active) == 0 or np.isclose(active.mean(), level, rtol=1e-6):
            break
        level = active.mean()
    return float(_db(level))


def utterance_levels_db(programme: Programme) -> list[float]:
    """The measured speech level of each placed utterance."""
    return [
        speech_level_db(programme.samples[u.start_ms * 16 : u.end_ms * 16])
        for u in programme.utterances
    ]


def stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def speech_frames(samples: np.ndarray, threshold_db: np.ndarray | float) -> np.ndarray:
    """Which 10 ms frames are speech: at or above the threshold, 30 ms or more in a row (a
    lone frame of noise over the threshold, or a click, is not speech)."""
    loud = _db(frame_power(samples)) >= threshold_db
    speech = np.zeros_like(loud)
    for start, end in stretches(loud):
        speech[start:end] = end - start >= MIN_SPEECH_FRAMES
    return speech


def pause_frames(programme: Programme) -> np.ndarray:
    """Which 10 ms frames are pauses: more than PAUSE_BELOW_DB under the nearest speaker.

    Each frame is judged against the utterance nearest to it (the gaps split at their middle),
    so a quiet far speaker's pauses count as well as a loud one's. In a noisy programme the
    noise fills every pause: measure its pauses on the clean programme it was made from.
    """
    utterances = programme.utterances
    middles = [(a.end_ms + b.start_ms) / 2 for a, b in itertools.pairwise(utterances)]
    frame_ms = np.arange(len(programme.samples) // FRAME) * 10 + 5
    nearest = np.searchsorted(np.array(middles), frame_ms)
    gains = np.array([u.gain_db for u in utterances])
    threshold = NOMINAL_DB + gains[nearest] - PAUSE_BELOW_DB
    return ~speech_frames(programme.samples, threshold)


def boundary_pauses_ms(programme: Programme) -> list[int]:
    """The measured pause at each utterance boundary (0 where none is found)."""
    spans = stretches(pause_frames(programme))
    found = []
    for a, b in itertools.pairwise(programme.utterances):
        middle = (a.end_ms + b.start_ms) // 20
        found.append(next((10 * (e - s) for s, e in spans if s <= middle < e), 0))
    return found


def longest_pause_ms(programme: Programme, start_ms: int, end_ms: int) -> int:
    """The longest measured pause between start_ms and end_ms."""
    pauses = pause_frames(programme)[start_ms // 10 : end_ms // 10]
    return max((10 * (e - s) for s, e in stretches(pauses)), default=0)


def runs(utterances: Utterances, max_gap_ms: int = MAX_RUN_PAUSE_MS) -> list[list[Utterance]]:
    """Consecutive utterances grouped wherever the gap between them is at most max_gap_ms."""
    groups: list[list[Utterance]] = []
    for u in utterances:
        if groups and u.start_ms - groups[-1][-1].end_ms <= max_gap_ms:
            groups[-1].append(u)
        else:
            groups.append([u])
    return groups


# Preparing the clips, once for every programme
@dataclass(frozen=True, eq=False)
class Speech:
    """A clip trimmed to its speech plus pads, at NOMINAL_DB: ready to place."""

    clip: str
    speaker: str
    reference: str
    audio: np.ndarray  # PAD_MS of the clip's own sound, the speech, PAD_MS again
    noisy_floor: bool

    @property
    def duration_ms(self) -> int:
        return len(self.audio) * 1000 // RATE - 2 * PAD_MS


def _speakers() -> dict[str, str]:
    """Clip name → speaker, from the setA manifest: '1 (LibriSpeech spk 1089)' → the name."""
    with open(AUDIO_DIR / "manifest.tsv", newline="") as manifest:
        rows = csv.DictReader(manifest, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {Path(r["file"]).stem: re.sub(r"^\d+ \((.*)\)$", r"\1", r["speakers"]) for r in rows}


def _prepare(clip: Clip, speaker: str) -> Speech:
    pcm, rate = clip.pcm16()
    if rate != RATE:
        raise ValueError(f"{clip.name}: {rate} Hz, expected {RATE}")
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    samples = samples[: len(samples) // FRAME * FRAME]
    level = speech_level_db(samples)
    # A floor as loud as the pause threshold would make the whole clip speech: trim above it.
    floor = float(np.percentile(_db(frame_power(samples)), 10))
    threshold = max(level - PAUSE_BELOW_DB, floor + 6)
    loud = np.flatnonzero(speech_frames(samples, threshold))
    pad = PAD_MS * RATE // 1000
    padded = np.pad(samples, pad)  # silence where the clip has no room for a pad
    audio = padded[loud[0] * FRAME : (loud[-1] + 1) * FRAME + 2 * pad]
    audio = audio * 10 ** ((NOMINAL_DB - level) / 20)
    return Speech(clip.name, speaker, clip.reference, audio, threshold > level - PAUSE_BELOW_DB)


def speeches() -> dict[str, Speech]:
    """Every clip of shared/audio, prepared, by clip name."""
    speakers = _speakers()
    return {c.name: _prepare(c, speakers[c.name]) for c in clips()}


def _compact(speech: Speech, max_pause_ms: int) -> Speech:
    """The same speech with every inner pause longer than max_pause_ms shortened below it.

    Only pause frames are removed, from the middle of each pause, so no word is touched and
    the speech level stays the same; the two sides overlap by one frame, faded across.
    """
    audio = speech.audio
    quiet = ~speech_frames(audio, NOMINAL_DB - PAUSE_BELOW_DB)
    keep = max_pause_ms // 20  # frames kept either side of a cut
    pieces, cursor = [], 0
    for start, end in stretches(quiet):
        inner = start > 0 and end < len(quiet)
        if inner and (end - start) * 10 > max_pause_ms:
            pieces.append(audio[cursor * FRAME : (start + keep) * FRAME])
            cursor = end - keep
    pieces.append(audio[cursor * FRAME :])
    fade = np.linspace(0, 1, FRAME)
    joined = pieces[0]
    for piece in pieces[1:]:
        overlap = joined[-FRAME:] * (1 - fade) + piece[:FRAME] * fade
        joined = np.concatenate((joined[:-FRAME], overlap, piece[FRAME:]))
    return replace(speech, audio=joined)


# Assembling a programme
def _rng(name: str) -> np.random.Generator:
    # One stream per programme, so that changing one never changes another.
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def _on_pcm16_grid(samples: np.ndarray) -> np.ndarray:
    """Rounded to PCM16 and clipped at full scale, as a real input would be."""
    return (np.clip(np.round(samples * 32768), -32768, 32767) / 32768).astype(np.float32)


def _assemble(
    name: str, condition: str, parts: Sequence[tuple[Speech, float]], gaps_ms: Sequence[int]
) -> Programme:
    """Place each (speech, gain_db) after the previous one's end plus its gap."""
    if len(gaps_ms) != len(parts) - 1 or min(gaps_ms) < 2 * PAD_MS:
        raise ValueError(f"{name}: need {len(parts) - 1} gaps of at least {2 * PAD_MS} ms")
    utterances, placed = [], []
    start_ms = LEAD_MS
    for (speech, gain_db), gap_ms in zip(parts, [*gaps_ms, TAIL_MS], strict=True):
        end_ms = start_ms + speech.duration_ms
        utterances.append(
            Utterance(speech.clip, speech.speaker, start_ms, end_ms, speech.reference, gain_db)
        )
        offset = (start_ms - PAD_MS) * RATE // 1000
        placed.append((offset, speech.audio * 10 ** (gain_db / 20)))
        start_ms = end_ms + gap_ms
    samples = np.zeros(start_ms * RATE // 1000)
    for offset, audio in placed:
        samples[offset : offset + len(audio)] += audio
    return Programme(name, condition, _on_pcm16_grid(samples), utterances)


def _room_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Pink noise from 50 Hz up (a ventilated room) with a little 50 Hz mains hum, RMS 1."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    hz = np.fft.rfftfreq(length, 1 / RATE)
    # Pink: power falls 3 dB an octave. Nothing below 50 Hz, where pink noise would put most
    # of its power and no microphone chain passes it.
    spectrum *= np.where(hz >= 50, 1 / np.sqrt(np.maximum(hz, 50)), 0)
    pink = np.fft.irfft(spectrum, length)
    pink /= np.sqrt(np.mean(pink**2))
    seconds = np.arange(length) / RATE
    hum = sum(
        amplitude * np.sin(2 * np.pi * 50 * harmonic * seconds + rng.uniform(0, 2 * np.pi))
        for harmonic, amplitude in ((1, 1.0), (2, 0.5), (3, 0.25))
    )
    hum *= 10 ** (-20 / 20) / np.sqrt(np.mean(hum**2))  # 20 dB under the pink noise
    noise = pink + hum
    return noise / np.sqrt(np.mean(noise**2))


# The programmes

LJ = ("A_LJ001-0001", "A_LJ001-0003", "A_LJ001-0004", "A_LJ001-0005", "A_LJ001-0007")
LS_1089 = tuple(
    f"A_LS_1089-{n}" for n in ("134686-0000", "134686-0001", "134691-0000", "134691-0001")
)
# The level changes between two clips of the same reader, as when a speaker moves rooms.
LEVEL_ORDER = (
    ("A01_jfk_inaugural", *LS_1089[:2], "A_LS_1272-128104-0000", *LJ[:2]),
    (*LJ[2:], *LS_1089[2:], "A_LS_2412-153948-0000", "A_LS_61-70968-0000"),
)


def pauses() -> Programme:
    """All 13 clips with 12 pauses spread from 0.15 s to 3 s (geometrically), shuffled."""
    parts = [(s, 0.0) for s in speeches().values()]
    gaps = np.round(np.geomspace(150, 3000, len(parts) - 1), -1).astype(int)
    gaps = _rng("pauses").permutation(gaps)
    return _assemble("pauses", "pauses of 0.15-3 s between utterances", parts, gaps.tolist())


def run() -> Programme:
    """Two runs of 35 s or more, clips joined by 80-150 ms pauses, 2 s apart.

    The first run is four voices in quick turns, the second one reader going on. The clips'
    own pauses are shortened to 130 ms, like the joins: a speaker who barely stops.
    """
    prepared = speeches()
    rng = _rng("run")
    # JFK last: the crowd after his sentence is loud enough to pass for speech
    first = [n for n in prepared if n not in LJ and not prepared[n].noisy_floor]
    first.append(first.pop(first.index("A01_jfk_inaugural")))
    parts, gaps = [], []
    for names in (first, LJ):
        if parts:
            gaps.append(2000)
        for i, name in enumerate(names):
            parts.append((_compact(prepared[name], 150), 0.0))
            if i < len(names) - 1:
                gaps.append(int(rng.integers(8, 16)) * 10)
    return _assemble("run", "runs of 35 s or more, no pause over 250 ms", parts, gaps)


def _level(name: str, gain_db: float) -> Programme:
    prepared = speeches()
    before, after = LEVEL_ORDER
    parts = [(prepared[n], 0.0) for n in before] + [(prepared[n], gain_db) for n in after]
    gaps = (_rng(name).integers(40, 121, len(parts) - 1) * 10).tolist()
    return _assemble(name, f"speech level {gain_db:+g} dB after the change", parts, gaps)


def level_down() -> Programme:
    """Two halves, the second one 20 dB quieter."""
    return _level("level_down", -20.0)


def level_up() -> Programme:
    """Two halves, the second one 10 dB louder, its peaks clipped at full scale."""
    return _level("level_up", 10.0)


def _dialogue(name: str, condition: str, second_gain_db: float) -> Programme:
    prepared = speeches()
    # LJ Speech's reader opens and closes: she has five clips to his four
    turns = [*itertools.chain(*zip(LJ, LS_1089, strict=False)), LJ[-1]]
    parts = [(prepared[n], second_gain_db if n in LS_1089 else 0.0) for n in turns]
    return _assemble(name, condition, parts, [300] * (len(parts) - 1))


def dialogue() -> Programme:
    """A woman and a man (LJ Speech, LibriSpeech 1089) taking turns, 0.3 s apart."""
    return _dialogue("dialogue", "two voices taking turns, 0.3 s gaps", 0.0)


def far() -> Programme:
    """The dialogue with the second voice 25 dB quieter, as from the far end of a table."""
    return _dialogue("far", "the second voice of the dialogue at -25 dB", -25.0)


def noise() -> Programme:
    """The pauses programme in room noise 10 dB under the speech level while speaking."""
    clean = pauses()
    room = _room_noise(len(clean.samples), _rng("noise"))
    room *= 10 ** ((NOMINAL_DB - NOISE_SNR_DB) / 20)
    samples = _on_pcm16_grid(clean.samples + room)
    return Programme("noise", "room noise at 10 dB SNR", samples, clean.utterances)


BUILDERS: dict[str, Callable[[], Programme]] = {
    build.__name__: build for build in (pauses, run, level_down, level_up, dialogue, far, noise)
}


def programmes() -> list[Programme]:
    return [build() for build in BUILDERS.values()]


# Files: <name>.wav, .txt, .json
def write(programme: Programme, folder: Path) -> Path:
    """Write <name>.wav (PCM16 mono), <name>.txt (the reference) and <name>.json (manifest)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / programme.name
    with wave.open(str(base.with_suffix(".wav")), "wb") as wav:
        wav.setparams((1, 2, RATE, 0, "NONE", "not compressed"))
        wav.writeframes(programme.pcm16())
    base.with_suffix(".txt").write_text(programme.reference + "\n")
    manifest = {
        "name": programme.name,
        "condition": programme.condition,
        "sample_rate": RATE,
        "utterances": [asdict(u) for u in programme.utterances],
    }
    base.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    return base.with_suffix(".wav")


def read(folder: Path, name: str) -> Programme:
    """A programme as write() left it."""
    manifest = json.loads((folder / f"{name}.json").read_text())
    with wave.open(str(folder / f"{name}.wav"), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    utterances = [Utterance(**u) for u in manifest["utterances"]]
    return Programme(manifest["name"], manifest["condition"], samples, utterances)
