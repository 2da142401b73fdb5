"""Log lines say which meeting and speaker session they are about, and never what was said.

Before, the line for a lost final quoted its text (and named neither the session nor, for the
other failures, the meeting), so the operator's logs held what people said.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from config.log_context import ContextFilter
from tests.security.test_caption_failures import FIRST, failing_segment_inserts, joined, say

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]


def production_formatter() -> logging.Formatter:
    """The formatter LOG_FORMAT=json gives the console (settings.LOGGING)."""
    spec = dict(settings.LOGGING["formatters"]["json"])
    spec.pop("()")
    return JsonFormatter(spec.pop("format"), **spec)


async def test_a_lost_final_is_logged_with_its_ids_and_without_its_words(live_cast, caplog):
    caplog.handler.addFilter(ContextFilter())
    comm = await joined(live_cast.bob)
    with caplog.at_level(logging.WARNING):
        async with failing_segment_inserts(1000):
            events = await say(comm, FIRST)
    await comm.disconnect()
    assert any(e.get("code") == "caption_not_saved" for e in events)
    formatter = production_formatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name.startswith("trans")]
    [lost] = [line for line in lines if "is lost" in line["message"]]
    assert lost["meeting"] == str(live_cast.meeting.pk)
    assert re.fullmatch(r"[0-9a-f]{8}", lost["session"])
    assert lost["level"] == "ERROR" and lost["logger"] == "transcription.live.speaker"
    words = {"wait", "longer"}  # of "He could wait no longer" ("could" is in our messages)
    assert words <= set(FIRST.reference.lower().split())
    for line in lines:
        assert not words & set(re.findall(r"[a-z]{4,}", json.dumps(line).lower())), line
