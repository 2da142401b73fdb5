"""Batch jobs on a paid engine spend the budget of minutes live captions spend
(:data:`meetings.budget.PAID_SECONDS`): the day's, and the meeting's for a meeting's job.

A job is refused before it starts when its audio, whose length is known then, would go over;
while it runs each chunk is refused once a budget is spent (other jobs and rooms spend it too)
and counted once transcribed, so a job can pass a budget by at most the chunk under way.
"""

from __future__ import annotations

import math

import numpy as np

from meetings.budget import PAID_SECONDS, BudgetSpent

from ..audio import WHISPER_SAMPLE_RATE
from ..engines import PAID_ENGINES
from ..engines.base import BatchEngine, Transcript


def refusal(engine: str, meeting_id: int | None, seconds: float) -> str | None:
    """Why ``seconds`` of audio may not be transcribed on ``engine`` now; None when they may."""
    if engine not in PAID_ENGINES:
        return None
    # an upload whose length its header does not give is 0 here: then only a spent budget
    # refuses it, and its chunks are counted as they go
    return PAID_SECONDS.refusal(meeting_id, more=max(seconds, 0))


def metered(engine: BatchEngine, name: str, meeting_id: int | None) -> BatchEngine:
    """The engine, counting what it transcribes if ``name`` is a paid engine."""
    return PaidBatchEngine(engine, meeting_id) if name in PAID_ENGINES else engine


class PaidBatchEngine(BatchEngine):
    """A paid batch engine whose calls are refused once a budget is spent, and counted."""

    def __init__(self, engine: BatchEngine, meeting_id: int | None) -> None:
        self.engine = engine
        self.name = engine.name
        self.meeting_id = meeting_id

    def transcribe(self, audio: np.ndarray, **options) -> Transcript:
        if (why := PAID_SECONDS.refusal(self.meeting_id)) is not None:
            raise BudgetSpent(why)
        transcript = self.engine.transcribe(audio, **options)
        PAID_SECONDS.add(self.meeting_id, math.ceil(audio.size / WHISPER_SAMPLE_RATE))
        return transcript


def source_seconds(upload=None, meeting=None) -> float:
    """The length a job's audio is recorded as having (0 when not known): an upload's, or the
    sum of a meeting's recordings."""
    if upload is not None:
        return upload.duration_ms / 1000
    return sum(meeting.recordings.values_list("duration_ms", flat=True)) / 1000
