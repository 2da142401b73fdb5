"""A meeting in a language the model cannot transcribe is still captioned, as the model hears it.

The bundled tiny.en is English-only: a Thai meeting (its room warns of it) and an `auto` one get
English captions whose language says `en`, not the meeting's. Real speech through the real
consumer, model and Redis layer.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from meetings.models import Meeting, Segment
from tests.base import communicator
from tests.speech import clip, wrong_words

from .streaming import of_type, speak_clip

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

SPEECH = clip("A_LS_1089-134691-0001")


@pytest.mark.parametrize("language", ["th", "auto"])
async def test_an_english_only_model_captions_english_and_says_so(live_cast, language):
    await database_sync_to_async(Meeting.objects.filter(pk=live_cast.meeting.pk).update)(
        language=language
    )
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"

    events = await speak_clip(comm, SPEECH)
    await comm.disconnect()

    finals = of_type(events, "caption.final")
    assert finals
    assert {f["language"] for f in finals} == {"en"}
    assert wrong_words(SPEECH.reference, " ".join(f["text"] for f in finals)) <= 2
    stored = await database_sync_to_async(list)(Segment.objects.for_meeting(live_cast.meeting))
    assert {s.language for s in stored} == {"en"}
