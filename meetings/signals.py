"""What the core tells the apps built on it, for them to act on (docs/ARCHITECTURE.md,
"Extension points"): the core imports none of them, they connect their receivers in their
``AppConfig.ready()``."""

from __future__ import annotations

from django.dispatch import Signal

#: A meeting ended: sent once, after the end is committed (``meeting``; ``by``: the host who
#: ended it, or None for the idle sweep). Summaries queue the meeting's summary.
meeting_ended = Signal()
