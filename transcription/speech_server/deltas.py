"""Transcription deltas while speech goes on: revisable hypotheses in, append-only text out.

The local engine's partials are the text so far, and a later one may change words of an earlier
one; a delta can never be taken back. So a word is sent once it is stable: once the last
``agreement`` hypotheses agree on it ("local agreement"), words compared without case or
punctuation, the newest spelling sent. A final is trusted at once.

When a hypothesis or a final contradicts words already sent, nothing is retracted: the new text
is lined up with the end of what was sent (over the last few words) and only what follows it is
sent. The deltas then differ from the transcript in those words, and the ``completed`` event,
which always carries the final text, is the truth.

``delay`` (OpenAI's knob for its streaming models) sets how much agreement a word needs: the
cost is latency, never decoding work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from ..engines.openai.protocol import Item

#: delay → (hypotheses that must agree, newest words held back); None: finals only
DELAYS: dict[str, tuple[int, int] | None] = {
    "minimal": (1, 0),  # the newest hypothesis as it is, its last word perhaps cut short
    "low": (1, 1),
    "medium": (2, 0),
    "high": (3, 0),
    "xhigh": None,  # each pause's final: no partial words at all
}
DEFAULT_DELAY = "medium"
#: how many of the words already sent are lined up with a text that contradicts them
ALIGN_WORDS = 12
#: ... and how far past them the new text may have moved
ALIGN_SLACK = 4


def _key(word: str) -> str:
    """A word as hypotheses are compared: "Hello," and "hello" are the same word."""
    return re.sub(r"[^\w']", "", word.lower())


def agreed(hypotheses: list[list[str]]) -> list[str]:
    """The longest word prefix every hypothesis shares, spelled as the newest spells it."""
    keys = [[_key(w) for w in words] for words in hypotheses]
    shortest = min(len(k) for k in keys)
    n = 0
    while n < shortest and all(k[n] == keys[-1][n] for k in keys):
        n += 1
    return hypotheses[-1][:n]


def resume_at(sent: list[str], words: list[str]) -> int:
    """Where in ``words`` the text after ``sent`` begins.

    ``len(sent)`` when ``words`` starts with them; otherwise the end of the last run of words
    the two share, plus the sent words after that run (taken as replaced one for one).
    """
    n = len(sent)
    start = max(0, n - ALIGN_WORDS)  # words before this are taken to line up as they are
    tail = [_key(w) for w in sent[start:]]
    window = [_key(w) for w in words[start : n + ALIGN_SLACK]]
    if window[: len(tail)] == tail:
        return n
    runs = SequenceMatcher(None, tail, window, autojunk=False).get_matching_blocks()
    shared = [run for run in runs if run.size]
    if not shared:
        return n
    last = shared[-1]
    return start + last.b + last.size + (len(tail) - last.a - last.size)


class DeltaStream:
    """One item's text, sent as append-only deltas (see the module docstring)."""

    def __init__(self, delay: str | None = None) -> None:
        self.use(delay)
        self.history: list[list[str]] = []
        self.sent: list[str] = []  # the text the sent deltas stand for, as words

    def use(self, delay: str | None) -> None:
        """Follow ``delay`` from the next hypothesis on (the session was updated)."""
        policy = DELAYS[delay or DEFAULT_DELAY]
        self.agreement, self.hold_back = policy if policy is not None else (0, 0)

    def hypothesis(self, text: str) -> list[str]:
        """The deltas a partial (the item's text so far) makes stable."""
        if not self.agreement:
            return []
        self.history = [*self.history, text.split()][-self.agreement :]
        if len(self.history) < self.agreement:
            return []
        words = agreed(self.history)
        return self._extend(words[: len(words) - self.hold_back])

    def settled(self, text: str) -> list[str]:
        """The deltas a final adds: its words past what was sent."""
        self.history = []  # hypotheses before a final say nothing of what follows it
        return self._extend(text.split())

    def _extend(self, words: list[str]) -> list[str]:
        new = words[resume_at(self.sent, words) :]
        if not new:
            return []
        first = not self.sent
        self.sent = list(words)
        return [w if first and i == 0 else " " + w for i, w in enumerate(new)]


@dataclass
class StreamedItem:
    """One commit's audio while it streams (turn detection off): its item and its finals."""

    item: Item
    stream: DeltaStream
    finals: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.finals)

    def so_far(self, partial: str) -> str:
        """The item's text with the utterance in progress."""
        return f"{self.text} {partial}".strip()

    def avg_logprob(self) -> float | None:
        """The finals' average log-probability, weighted by their length."""
        scored = [(len(text), lp) for text, lp in self.finals if lp is not None]
        if not scored:
            return None
        return sum(n * lp for n, lp in scored) / max(1, sum(n for n, _ in scored))


def delta_stream(transcription: dict[str, Any] | None) -> DeltaStream | None:
    """A new item's stream; None where nothing streams (no transcription, or whisper-1)."""
    if transcription is None or transcription.get("model") == "whisper-1":
        return None
    return DeltaStream(transcription.get("delay"))
