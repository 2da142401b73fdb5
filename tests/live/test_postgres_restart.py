"""PostgreSQL restarted mid-utterance: the final is stored once, after retries, and broadcast.

Before the fix a final was tried three times within 2.5 s, and a restart takes longer: the
speaker got `caption_not_saved` and the room never saw the caption. The store also ran inside
the loop that reads the engine's events, so while it waited nothing else of that speaker
reached the room. A throwaway cluster on its own port is the database of a real Daphne process
here; the machine's PostgreSQL, which other runs share, is never stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import psycopg
import websockets
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import ROOT, ThrowawayPostgres, throwaway_postgres
from tests.speech import clip, word_error_rate

from .streaming import silence
from .test_redis_restart import send_audio

FIRST = clip("A_LS_1089-134691-0000")  # "He could wait no longer."
SECOND = clip("A_LS_1272-128104-0000")  # "Mr. Quilter is the apostle ..."
#: longer than the 2.5 s the stores were retried for before the fix
DOWN_SECONDS = 5.0
RETRIES = "captions_store_retries_total"

# The cast of tests/base.py in the throwaway database, and API tokens for bob and dave.
SETUP = """
import json
from django.core.management import call_command
from meetings.models import ApiToken
from tests.base import Cast
call_command("migrate", verbosity=0)
cast = Cast()
print(json.dumps([ApiToken.issue(user)[1] for user in (cast.bob, cast.dave)]))
"""


def server_env(cluster: ThrowawayPostgres) -> dict[str, str]:
    """What points a test server at the cluster: the run's test database name, on its port."""
    name = settings.DATABASES["default"]["TEST"]["NAME"]
    return {"DATABASE_URL": cluster.url(name)}


def set_up_cast(cluster: ThrowawayPostgres) -> list[str]:
    """Migrate the cluster's database and create the cast, as the server will see them."""
    cluster.createdb(settings.DATABASES["default"]["TEST"]["NAME"])
    env = dict(
        os.environ,
        CAPTIONS_TEST_SERVER="1",
        DJANGO_SETTINGS_MODULE="config.test_settings",
        **server_env(cluster),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


class Inboxes:
    """What each socket received, in order, read by a task per socket."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.readers: list[asyncio.Task] = []

    def read(self, ws) -> list[dict]:
        events: list[dict] = []
        self.readers.append(asyncio.create_task(self._read(ws, events)))
        return events

    async def _read(self, ws, events: list[dict]) -> None:
        async for message in ws:
            events.append(json.loads(message))
            self.arrived.set()

    async def until(self, condition: Callable[[], object], within: float) -> None:
        async with asyncio.timeout(within):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()

    def stop(self) -> None:
        for reader in self.readers:
            reader.cancel()


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


async def meeting(
    base: str, tokens: list[str], cluster: ThrowawayPostgres
) -> tuple[list[dict], list[dict]]:
    """bob says two sentences; the database goes down in the first and stays down past both."""
    room = base.replace("http", "ws") + "/ws/meetings/weekly-sync/?token="
    inboxes = Inboxes()
    async with (
        asyncio.timeout(120),
        websockets.connect(room + tokens[0]) as bob,
        websockets.connect(room + tokens[1]) as dave,
    ):
        said, heard = inboxes.read(bob), inboxes.read(dave)

        def finished() -> bool:  # both finals heard, or the speaker told of a lost one
            return bool(of_type(said, "error")) or len(of_type(heard, "caption.final")) == 2

        try:
            await inboxes.until(lambda: of_type(said, "session.ready") and heard, 10)
            first, rate = FIRST.pcm16()
            second, _ = SECOND.pcm16()
            await bob.send(json.dumps({"type": "session.start", "sample_rate": rate}))
            await send_audio(bob, first[: len(first) // 4 * 2])
            # the speaker's session is open (its writes are done) and the room hears it
            await inboxes.until(lambda: of_type(heard, "speech.started"), 30)
            stopped = time.monotonic()
            await asyncio.to_thread(cluster.stop)
            rest = first[len(first) // 4 * 2 :] + silence(1.0, rate) + second + silence(1.0, rate)
            await send_audio(bob, rest)
            await asyncio.sleep(stopped + DOWN_SECONDS - time.monotonic())
            await asyncio.to_thread(cluster.start)
            await inboxes.until(finished, 60)
        finally:
            inboxes.stop()
    return said, heard


def retries(base: str) -> float:
    """How many times the server tried a store again (every reason)."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    families = text_string_to_metric_families(text)
    return sum(s.value for f in families for s in f.samples if s.name == RETRIES)


def test_a_postgres_restart_mid_utterance_stores_the_final_once_and_sends_it(
    web_servers, chaos, whisper
):
    # the real model (whisper): the final stored after the restart must hold the words said
    with throwaway_postgres() as cluster:
        tokens = set_up_cast(cluster)
        # rights are checked again every second: one check falls in the outage
        with web_servers(**server_env(cluster), CAPTIONS_ACCESS_RECHECK_SECONDS="1") as base:
            said, heard = asyncio.run(meeting(base, tokens, cluster))
            retried = retries(base)
        with psycopg.connect(cluster.url(settings.DATABASES["default"]["TEST"]["NAME"])) as db:
            stored = db.execute("SELECT item_id, text FROM meetings_segment ORDER BY start_ms")
            rows = stored.fetchall()

    assert not of_type(said, "error"), of_type(said, "error")
    finals = of_type(heard, "caption.final")
    assert [(f["item_id"], f["text"]) for f in finals] == rows
    assert len(finals) == 2
    for speech, final in zip((FIRST, SECOND), finals, strict=True):
        assert word_error_rate(speech.reference, final["text"]) <= 0.2, final["text"]
    # while the first final waited for the database, the second sentence was captioned live
    waiting = heard[: heard.index(finals[0])]
    assert {p["item_id"] for p in of_type(waiting, "caption.partial")} - {finals[0]["item_id"]}
    assert retried >= 1  # the outage did reach the store
