"""What the operator's paid services may cost: chat tokens (summaries and translations) and
minutes of a paid speech engine, each with a budget per meeting and per day (UTC).

Spending is counted in the cache, which is Redis shared by every process (the embedded demo's
is in its one process). A call is refused once its meeting or the day has spent its budget;
calls already under way are still counted, so spending can pass a budget by what was under way
at that moment (a few translations, a speaker's last seconds). A budget of 0 is no limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

from .chat import ChatFailed

logger = logging.getLogger(__name__)

#: a meeting's spending is kept this long after its last call (a day's, two days)
MEETING_KEEP_SECONDS = 90 * 24 * 3600
DAY_KEEP_SECONDS = 2 * 24 * 3600


class BudgetSpent(ChatFailed):
    """A budget is spent: the message says which, for the person who asked."""


@dataclass(frozen=True)
class Budget:
    kind: str
    #: the settings holding its limits, in ``unit``s
    meeting_setting: str
    day_setting: str
    #: how many counted units make one unit of the settings (seconds in a minute)
    per_unit: int
    unit: str
    what: str

    def limits(self) -> tuple[float, float]:
        """(per meeting, per day), in counted units; 0 is no limit."""
        return (
            getattr(settings, self.meeting_setting) * self.per_unit,
            getattr(settings, self.day_setting) * self.per_unit,
        )

    def spent_by(self, meeting_id: int) -> int:
        return int(cache.get(self._meeting_key(meeting_id)) or 0)

    def spent_today(self) -> int:
        return int(cache.get(self._day_key()) or 0)

    def refusal(self, meeting_id: int) -> str | None:
        """Why no more may be spent for the meeting now, for people; None while it may."""
        per_meeting, per_day = self.limits()
        if per_meeting and self.spent_by(meeting_id) >= per_meeting:
            refusals.add((self.kind, "meeting"))
            return (
                f"This meeting has used its budget for {self.what} "
                f"({self._amount(per_meeting)}), which the server's operator sets."
            )
        if per_day and self.spent_today() >= per_day:
            refusals.add((self.kind, "day"))
            return (
                f"The server has used today's budget for {self.what} "
                f"({self._amount(per_day)}); it starts again at midnight UTC."
            )
        return None

    def add(self, meeting_id: int, amount: int) -> None:
        """Count ``amount`` against the meeting and the day."""
        if amount <= 0:
            return
        for key, keep in [
            (self._meeting_key(meeting_id), MEETING_KEEP_SECONDS),
            (self._day_key(), DAY_KEEP_SECONDS),
        ]:
            cache.add(key, 0, keep)  # INCR needs the key: set it only if absent
            cache.incr(key, amount)
            cache.touch(key, keep)

    def _amount(self, counted: float) -> str:
        return f"{counted / self.per_unit:g} {self.unit}"

    def _meeting_key(self, meeting_id: int) -> str:
        return f"budget:{self.kind}:meeting:{meeting_id}"

    def _day_key(self) -> str:
        return f"budget:{self.kind}:day:{datetime.now(UTC).date().isoformat()}"


CHAT_TOKENS = Budget(
    "chat_tokens",
    "LLM_TOKENS_PER_MEETING",
    "LLM_TOKENS_PER_DAY",
    per_unit=1,
    unit="tokens",
    what="translations and summaries",
)
PAID_SECONDS = Budget(
    "paid_seconds",
    "PAID_ENGINE_MINUTES_PER_MEETING",
    "PAID_ENGINE_MINUTES_PER_DAY",
    per_unit=60,
    unit="minutes",
    what="captions by the paid speech engine",
)


class RefusalCounts:
    """How many calls each budget refused since the process started, for /metrics."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, key: tuple[str, str]) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


refusals = RefusalCounts()


class ChatMeter:
    """The chat calls made for one meeting, for :func:`meetings.chat.complete`: refused before
    they start once a budget is spent, and counted once answered."""

    def __init__(self, meeting_id: int) -> None:
        self.meeting_id = meeting_id

    def check(self) -> None:
        if (refusal := CHAT_TOKENS.refusal(self.meeting_id)) is not None:
            logger.warning("chat call refused: %s", refusal)
            raise BudgetSpent(refusal)

    def add(self, tokens: int) -> None:
        CHAT_TOKENS.add(self.meeting_id, tokens)
