"""What the operator's paid services may cost: chat tokens (summaries and translations) and
minutes of a paid speech engine, each with a budget per meeting and per day (UTC).

Spending is counted in the cache, which is Redis shared by every process (the embedded demo's
is in its one process). A call is refused once its meeting or the day has spent its budget;
calls already under way are still counted, so spending can pass a budget by what was under way
at that moment (a few translations, a speaker's last seconds). A budget of 0 is no limit.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

from chat.client import ChatFailed

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

    def spent_by(self, meeting_id: int | None) -> int:
        if meeting_id is None:
            return 0
        return int(cache.get(self._meeting_key(meeting_id)) or 0)

    def spent_today(self) -> int:
        return int(cache.get(self._day_key()) or 0)

    def refusal(self, meeting_id: int | None, more: float = 0) -> str | None:
        """Why no more may be spent for the meeting now, for people; None while it may.

        With ``more`` (a batch job's audio, whose length is known before it starts), also
        why that much would go over. A job for no meeting (an upload) has only the day's.
        """
        if more > 0:
            return self._room_refusal(meeting_id, more)
        per_meeting, per_day = self.limits()
        if per_meeting and self.spent_by(meeting_id) >= per_meeting:
            refusals[(self.kind, "meeting")] += 1
            return (
                f"This meeting has used its budget for {self.what} "
                f"({self._amount(per_meeting)}), which the server's operator sets."
            )
        if per_day and self.spent_today() >= per_day:
            refusals[(self.kind, "day")] += 1
            return (
                f"The server has used today's budget for {self.what} "
                f"({self._amount(per_day)}); it starts again at midnight UTC."
            )
        return None

    def _room_refusal(self, meeting_id: int | None, more: float) -> str | None:
        per_meeting, per_day = self.limits()
        needs = f"and this audio is {self._amount(more)} long"
        left = per_meeting - self.spent_by(meeting_id)
        if meeting_id is not None and per_meeting and more > left:
            refusals[(self.kind, "meeting")] += 1
            return (
                f"This meeting has {self._amount(max(left, 0))} left of its budget for "
                f"{self.what} ({self._amount(per_meeting)}, which the server's operator sets), "
                f"{needs}."
            )
        left = per_day - self.spent_today()
        if per_day and more > left:
            refusals[(self.kind, "day")] += 1
            return (
                f"The server has {self._amount(max(left, 0))} left of today's budget for "
                f"{self.what} ({self._amount(per_day)}), {needs}; it starts again at "
                "midnight UTC."
            )
        return None

    def add(self, meeting_id: int | None, amount: int) -> None:
        """Count ``amount`` against the meeting (if any) and the day."""
        if amount <= 0:
            return
        keys = [(self._day_key(), DAY_KEEP_SECONDS)]
        if meeting_id is not None:
            keys.append((self._meeting_key(meeting_id), MEETING_KEEP_SECONDS))
        for key, keep in keys:
            cache.add(key, 0, keep)  # INCR needs the key: set it only if absent
            cache.incr(key, amount)
            cache.touch(key, keep)

    def _amount(self, counted: float) -> str:
        return f"{round(counted / self.per_unit, 2):g} {self.unit}"

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


#: how many calls each (budget, scope) refused since the process started, for /metrics
refusals: Counter[tuple[str, str]] = Counter()


class ChatMeter:
    """The chat calls made for one meeting, for :func:`chat.client.complete`: refused before
    they start once a budget is spent, and counted once answered."""

    def __init__(self, meeting_id: int) -> None:
        self.meeting_id = meeting_id

    def check(self) -> None:
        if (refusal := CHAT_TOKENS.refusal(self.meeting_id)) is not None:
            logger.warning("chat call refused: %s", refusal)
            raise BudgetSpent(refusal)

    def add(self, tokens: int) -> None:
        CHAT_TOKENS.add(self.meeting_id, tokens)
