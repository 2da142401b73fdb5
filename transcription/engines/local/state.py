"""What a local streaming session (:mod:`.stream`) holds, and what it can be doing.

A session is in one of three phases, read from what it holds (:attr:`Speech` or none, and the
pause so far), never stored beside it:

- ``QUIET``: no utterance. Each frame goes to the pre-roll, which keeps the last
  ``prefix_padding_ms``; a frame the detector hears as speech, or ``LOUD_OPENS_AFTER`` loud
  frames in a row, open an utterance with the pre-roll as its start → ``SPEAKING``.
- ``SPEAKING``: an utterance whose last frame was speech (heard or loud). Partials and heads
  decode while it lasts. A frame of neither → ``PAUSING``. No pause before ``MAX_UTTERANCE_S``:
  the utterance is cut at its quietest frame, its final sent, and the rest is a new utterance
  (``SPEAKING`` again, a new item).
- ``PAUSING``: an utterance, silent since its last speech. ``SPECULATE_AFTER_MS`` in, its final
  starts decoding (the speculation); speech again throws it away → ``SPEAKING``. Once the pause
  ends the utterance (``silence_ms``, shorter past ``LONG_UTTERANCE_S``, or ``early_ms`` with
  its turn judged complete), the final is sent → ``QUIET``.

From any phase, ``commit`` and the end of the audio send the utterance's final (if there is
one) and ``clear`` drops it unsent → ``QUIET``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .decode import NO_HEAD, Head
from .gate import HighPass, NoiseFloor
from .utterance import StreamingVad, Utterance


class Phase(Enum):
    """What a session is doing (the module says how it goes from one to the next)."""

    QUIET = "quiet"
    SPEAKING = "speaking"
    PAUSING = "pausing"


@dataclass
class Listening:
    """The session's hearing on the audio clock, kept from one utterance to the next."""

    vad: StreamingVad = field(default_factory=StreamingVad)  # its recurrent state
    high_pass: HighPass = field(default_factory=HighPass)  # what the noise floor hears (gate.py)
    floor: NoiseFloor = field(default_factory=NoiseFloor)
    #: samples that do not make a whole frame yet
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    clock: int = 0  # samples heard
    loud_run: int = 0  # loud frames in a row the detector did not take for speech
    #: the pause so far: samples since the utterance's last frame of speech (0 when quiet).
    #: Decode threads read it, to give way once the speaker has paused
    silent_samples: int = 0
    preroll: Utterance = field(default_factory=Utterance)  # frames heard before speech


@dataclass
class Decodes:
    """An utterance's decodes in flight: at most one of each kind."""

    partial: asyncio.Task | None = None
    head: asyncio.Task | None = None
    #: the final started during a pause (a speculation): sent if the pause ends the utterance,
    #: thrown away if speech resumes
    final: asyncio.Task | None = None

    def cancel(self) -> None:
        for task in (self.partial, self.head, self.final):
            if task is not None:
                task.cancel()
        self.partial = self.head = self.final = None


@dataclass
class Speech:
    """The utterance being heard: one item, from its onset to its final."""

    item_id: str
    frames: Utterance
    start: int  # its first sample, on the session's clock
    next_partial_at: int  # the session's clock: a partial is due from here
    settle_at: int  # samples into the utterance: its head is taken further from here
    #: the text of an early final this utterance goes on from (a false cut): its prompt
    continues: str = ""
    partial_text: str = ""  # the longest partial sent: partials only move forward
    head: Head = NO_HEAD  # settled while it goes on
    decodes: Decodes = field(default_factory=Decodes)


@dataclass(frozen=True)
class EarlyFinal:
    """A final sent early (its turn judged complete), which speech may yet go on from: if the
    next utterance starts within ``silence_ms`` of ``end`` (a sample), it continues ``text``."""

    text: str
    end: int
