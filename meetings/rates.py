"""Rates of what someone may ask for that costs (django-ratelimit, in the cache every process
shares), and how to say them to a person."""

from __future__ import annotations

from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

RATE_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def describe_rate(rate: str) -> str:
    """20/h → "20 per hour"; 5/10m → "5 per 10 minutes"."""
    count, _, period = rate.partition("/")
    amount, unit = period[:-1], RATE_UNITS.get(period[-1:], period)
    return f"{count} per {amount} {unit}s" if amount else f"{count} per {unit}"


def over_rate_per_user_and_meeting(
    request: HttpRequest, scope: str, rate: str, meeting_id: int
) -> bool:
    """Counts this request against ``rate`` for its user and for the meeting; True once either
    is used up (one person cannot spend a meeting's share, nor many people one person's)."""
    for group, key in [(f"{scope}.user", request.user.pk), (f"{scope}.meeting", meeting_id)]:
        if is_ratelimited(
            request, group=group, key=lambda *_, k=key: str(k), rate=rate, increment=True
        ):
            return True
    return False
