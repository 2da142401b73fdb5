"""A listener floods `translation.choose`: what it costs in chat calls, and what others wait.

Starts its own web process (``python -m config.server``) on a scratch database, with the
stand-in chat endpoint of tests/chat_server.py answering after ``--model-seconds``, in a room
whose last 20 finals nobody has translated. Others' requests are timed while nobody floods
(the usual latency) and again while one listener sends ``translation.choose`` every
``--every`` seconds for ``--seconds``: ``GET /healthz``, ``GET /metrics`` (the database and
Redis), and a ``ping`` → ``pong`` on another user's WebSocket in another room (the event loop).
Then it prints p50 / p95 / max of each, and how many chat requests each caption cost.

Usage (PostgreSQL and Redis running; the rate limit is raised unless ``--rate-limited``, so the
claims alone are measured):

    .venv/bin/python bench/translation_flood.py --seconds 30 --every 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chat_server import chat_server, llm_settings  # noqa: E402
from tests.servers import free_port, stop_process  # noqa: E402

RUN = uuid.uuid4().hex[:8]
DATABASE = f"bench_costs_{RUN}"
ENV = {
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "CHANNEL_LAYER_PREFIX": f"bench-costs-{RUN}",
    "SECRET_KEY": "bench-only-not-a-secret",
    "HTTPS": "0",
    "DEBUG": "0",
    "DOTENV_PATH": os.devnull,
    "DJANGO_SETTINGS_MODULE": "config.settings",
}


def reply(body: dict) -> str:
    """The stand-in model's translation: the caption, marked (what it says does not matter)."""
    return "[fr] " + body["messages"][-1]["content"]


def manage(*args: str) -> str:
    env = dict(os.environ, **ENV)
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout


SET_UP = """
from meetings.models import ApiToken, Meeting, Membership, Segment, User
host, flooder, other = (User.objects.create_user(n) for n in ("host", "flooder", "other"))
room = Meeting.objects.create(owner=host, title="Flooded", slug="flooded")
room.add_member(host, Membership.Role.HOST)
room.add_member(flooder, Membership.Role.LISTENER)
calm = Meeting.objects.create(owner=other, title="Calm", slug="calm")
calm.add_member(other, Membership.Role.HOST)
for n in range(20):
    Segment.objects.create(
        meeting=room, speaker=host, speaker_name="Host", item_id=f"item-{n}", language="en",
        text=f"The budget for item {n}.", original_text=f"The budget for item {n}.",
        start_ms=n * 2000, end_ms=n * 2000 + 1500, confidence=0.9,
    )
print(ApiToken.issue(flooder)[1], ApiToken.issue(other)[1])
"""


def wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web process did not start")


def percentiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms"


async def timed_get(url: str) -> float:
    started = time.monotonic()
    await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=30).read())
    return time.monotonic() - started


async def others(base: str, ws_url: str, seconds: float) -> dict[str, list[float]]:
    """Others' requests, one of each kind every 100 ms, for ``seconds``."""
    found: dict[str, list[float]] = {"GET /healthz": [], "GET /metrics": [], "ws ping": []}
    async with websockets.connect(ws_url) as ws:
        json.loads(await ws.recv())  # session.ready
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found["GET /healthz"].append(await timed_get(base + "/healthz"))
            found["GET /metrics"].append(await timed_get(base + "/metrics"))
            started = time.monotonic()
            await ws.send(json.dumps({"type": "ping"}))
            while json.loads(await ws.recv())["type"] != "pong":
                pass
            found["ws ping"].append(time.monotonic() - started)
            await asyncio.sleep(0.1)
    return found


async def flood(ws_url: str, seconds: float, every: float) -> Counter:
    answers: Counter = Counter()
    async with websockets.connect(ws_url) as ws:
        json.loads(await ws.recv())

        async def read() -> None:
            async for raw in ws:
                event = json.loads(raw)
                answers[event.get("code") or event["type"]] += 1

        reader = asyncio.create_task(read())
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await ws.send(json.dumps({"type": "translation.choose", "language": "fr"}))
            await asyncio.sleep(every)
        await asyncio.sleep(3)  # the last answers
        reader.cancel()
    return answers


async def measure(base: str, tokens: list[str], args) -> None:
    ws = base.replace("http", "ws", 1)
    flooded = f"{ws}/ws/meetings/flooded/?token={tokens[0]}"
    calm = f"{ws}/ws/meetings/calm/?token={tokens[1]}"
    usual = await others(base, calm, args.seconds / 2)
    during, answers = await asyncio.gather(
        others(base, calm, args.seconds), flood(flooded, args.seconds, args.every)
    )
    print(f"flood: translation.choose every {args.every} s for {args.seconds} s: {dict(answers)}")
    for kind in usual:
        print(f"{kind:13}  usual   {percentiles(usual[kind])}")
        print(f"{'':13}  flooded {percentiles(during[kind])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=0.1)
    parser.add_argument("--model-seconds", type=float, default=1.0)
    parser.add_argument("--rate-limited", action="store_true", help="keep the default limit")
    args = parser.parse_args()
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    server = None
    try:
        manage("migrate", "--verbosity", "0")
        tokens = manage("shell", "-c", SET_UP).split()[-2:]  # after shell's own line
        with chat_server(reply, delay=args.model_seconds) as chat:
            env = dict(os.environ, **ENV, **llm_settings(chat))
            if not args.rate_limited:
                env["CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE"] = "100000"
                env["CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE"] = "100000"
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "config.server", "-b", "127.0.0.1", "-p", str(port),
                 "config.asgi:application"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, server)
            asyncio.run(measure(base, tokens, args))
            time.sleep(args.model_seconds * 3 + 2)  # calls still under way
            asked = Counter(r["messages"][-1]["content"] for r in chat.requests)
        print(
            f"chat requests: {sum(asked.values())} for {len(asked)} captions "
            f"(most for one caption: {max(asked.values(), default=0)})"
        )
    finally:
        if server is not None:
            stop_process(server)
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=False)


if __name__ == "__main__":
    main()
