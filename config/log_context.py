"""Which meeting and which speaker session a log line is about, never what was said.

The consumer sets the meeting when a connection joins and the speaker session sets its own key
when it opens; both are context variables, so every line logged while handling that connection
(and in the tasks it starts) carries them, whichever logger writes it.
"""

from __future__ import annotations

import contextvars
import logging

meeting: contextvars.ContextVar[str] = contextvars.ContextVar("meeting", default="-")
session: contextvars.ContextVar[str] = contextvars.ContextVar("session", default="-")


class ContextFilter(logging.Filter):
    """Adds ``meeting`` and ``session`` to every record (for the formatters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.meeting = meeting.get()
        record.session = session.get()
        return True
