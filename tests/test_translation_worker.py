"""An export asking for translations nobody made yet: the worker makes them.

A listener exports a 30-segment transcript in French that nobody translated live. The export
answers at once (202) that the transcript is being translated and how far it is, without a chat
request of its own; the real worker process translates each segment once; the next export has
them all.
"""

from __future__ import annotations

import time

from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.chat_server import chat_server, llm_settings
from tests.test_translation_exports import use_chat
from tests.test_translation_glossary import captions_sent, reply, to_french
from translations.models import Translation

EXPORT = "/m/weekly-sync/transcript/export.json?translation=fr"
SAID = [f"The budget of item {n}." for n in range(30)]


def test_a_long_export_is_translated_by_the_worker_and_says_how_far(
    live_cast, settings, job_workers
):
    make = live_cast.factory.make_segment
    for n, text in enumerate(SAID):
        make(live_cast.meeting, live_cast.bob, text=text, start_ms=n * 2000)
    client = Client()
    client.force_login(live_cast.dave)
    with chat_server(reply) as server:
        use_chat(settings, server)
        response = client.get(EXPORT, HTTP_ACCEPT="application/json")
        assert response.status_code == 202
        assert response.json()["message"] == (
            f"The transcript is being translated into French: 0 of {len(SAID)} segments are done."
        )
        assert server.requests == []  # nothing while the person waited
        assert client.get(EXPORT).status_code == 202
        assert DBTaskResult.objects.count() == 1  # asked twice, queued once

        with job_workers(**llm_settings(server)):
            deadline = time.monotonic() + 60
            while Translation.objects.filter(language="fr").count() < len(SAID):
                assert time.monotonic() < deadline, "the worker did not translate them"
                time.sleep(0.2)

        response = client.get(EXPORT)
        assert response.status_code == 200
        translations = [s["translation"] for s in response.json()["segments"]]
        assert translations == [to_french(text) for text in SAID]
        assert sorted(captions_sent(server)) == sorted(SAID)  # each once
