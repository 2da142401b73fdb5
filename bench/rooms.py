"""A big room: how many listeners one web process serves, and how late their captions come.

Opens ``--listeners`` connections to one room as browsers do (each its own member with an API
token, a ping every 20 s, reading every message), all at once or over ``--ramp`` seconds, then
one speaker (``--speakers`` for more) says the shared/audio clips in real time. Prints:

* connecting: how long until every listener had its ``session.ready``, p50/p95/max per
  connection, and how many failed;
* delivery: finals the speakers heard of their own, how many each listener got (missing and
  duplicated), and per final the delay after the speaker's own copy, p50/p95/max over all
  listeners;
* the web process: CPU seconds and resident memory (peak) over the run.

The meeting has ``--members`` members (default: every listener and speaker, plus the host).

Usage (with the server running, e.g. ./scripts/serve.sh, and this checkout's settings):

    .venv/bin/python bench/rooms.py --url http://127.0.0.1:8000 --listeners 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live import percentile  # noqa: E402
from bench.pacing import send_in_real_time  # noqa: E402
from tests.servers import listening_pid  # noqa: E402
from tests.speech import clips  # noqa: E402

PING_SECONDS = 20  # as static/js/room.js does
GAP_SECONDS = 1.5


def set_up_meeting(listeners: int, speakers: int, members: int) -> tuple[str, list[str]]:
    """A meeting with ``members`` members; tokens for the speakers, then the listeners."""
    import django

    django.setup()
    from django.db import transaction

    from meetings.models import ApiToken, Meeting, Membership, User

    run = uuid.uuid4().hex[:6]
    members = max(members, listeners + speakers + 1)
    with transaction.atomic():
        users = User.objects.bulk_create(User(username=f"room-{run}-{i}") for i in range(members))
        meeting = Meeting.objects.create(
            slug=f"room-{run}", title="Big room", owner=users[0], language="en"
        )
        roles = [Membership.Role.HOST] + [Membership.Role.SPEAKER] * speakers
        roles += [Membership.Role.LISTENER] * (members - len(roles))
        Membership.objects.bulk_create(
            Membership(meeting=meeting, user=user, role=role)
            for user, role in zip(users, roles, strict=True)
        )
        tokens = [ApiToken.issue(user)[1] for user in users[1 : 1 + speakers + listeners]]
    return meeting.slug, tokens


@dataclass
class Listener:
    connect_s: float | None = None
    failure: str = ""
    #: item_id → arrival times (time.monotonic()) of its caption.final
    finals: dict[str, list[float]] = field(default_factory=dict)


async def listen(url: str, token: str, listener: Listener) -> None:
    """One listener, until cancelled."""
    started = time.monotonic()
    try:
        # no handshake timeout of the client's own, as browsers have none to speak of
        async with websockets.connect(
            url + f"?token={token}", max_size=2**22, open_timeout=None
        ) as ws:
            ready = json.loads(await ws.recv())
            assert ready["type"] == "session.ready", ready["type"]
            listener.connect_s = time.monotonic() - started
            pings = asyncio.create_task(ping(ws))
            try:
                async for raw in ws:
                    event = json.loads(raw)
                    if event["type"] == "caption.final":
                        arrivals = listener.finals.setdefault(event["item_id"], [])
                        arrivals.append(time.monotonic())
            finally:
                pings.cancel()
    except asyncio.CancelledError:
        raise
    except Exception as error:  # a refusal, a timeout, a dropped connection: counted
        listener.failure = f"{type(error).__name__}: {error}"[:200]


async def ping(ws) -> None:
    while True:
        await asyncio.sleep(PING_SECONDS)
        await ws.send(json.dumps({"type": "ping"}))


async def speak(url: str, token: str, offset: int) -> dict[str, float]:
    """Say every clip in real time; item_id → when the speaker's own final came."""
    own: dict[str, float] = {}
    corpus = clips()
    order = corpus[offset % len(corpus) :] + corpus[: offset % len(corpus)]
    silence = b"\x00" * int(16000 * 2 * GAP_SECONDS)
    async with websockets.connect(url + f"?token={token}", max_size=2**22) as ws:
        ready = json.loads(await ws.recv())
        me = ready["participant"]["id"]
        await ws.send(json.dumps({"type": "session.start", "sample_rate": 16000}))

        async def receive() -> None:
            async for raw in ws:
                event = json.loads(raw)
                if event["type"] == "session.stopped":
                    return
                if event["type"] == "caption.final" and event["speaker"]["id"] == me:
                    own[event["item_id"]] = time.monotonic()

        receiver = asyncio.create_task(receive())
        next_send = time.monotonic()
        for clip in order:
            next_send = await send_in_real_time(ws, clip.pcm16()[0] + silence, next_send)
        await ws.send(json.dumps({"type": "session.stop"}))
        await asyncio.wait_for(receiver, 60)
    return own


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int, name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(args, slug: str, tokens: list[str]) -> None:
    base = args.url.replace("http", "ws", 1) + f"/ws/meetings/{slug}/"
    speaker_tokens, listener_tokens = tokens[: args.speakers], tokens[args.speakers :]
    web = listening_pid(urllib.parse.urlsplit(args.url).port or 80)
    cpu_before, rss_before = cpu_seconds(web), memory_mib(web, "VmRSS")

    listeners = [Listener() for _ in listener_tokens]
    started = time.monotonic()
    tasks = []
    for n, (token, listener) in enumerate(zip(listener_tokens, listeners, strict=True)):
        if args.ramp:
            await asyncio.sleep(
                max(0.0, started + args.ramp * n / len(listeners) - time.monotonic())
            )
        tasks.append(asyncio.create_task(listen(base, token, listener)))
    while any(not (lis.connect_s or lis.failure) for lis in listeners):
        await asyncio.sleep(0.1)
        if time.monotonic() - started > args.connect_timeout:
            break
    all_in = time.monotonic() - started
    connected = [lis for lis in listeners if lis.connect_s is not None]
    times = [lis.connect_s for lis in connected]
    print(
        f"connecting: {len(connected)}/{len(listeners)} in {all_in:.1f} s · per connection "
        f"p50 {percentile(times, 0.5):.2f} s p95 {percentile(times, 0.95):.2f} s "
        f"max {max(times, default=float('nan')):.2f} s"
    )
    for reason, count in Counter(lis.failure for lis in listeners if lis.failure).most_common(5):
        print(f"  failed ({count}): {reason}")

    spoken = await asyncio.gather(
        *(speak(base, token, n * 3) for n, token in enumerate(speaker_tokens))
    )
    await asyncio.sleep(args.settle)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report(spoken, connected)
    cpu = cpu_seconds(web) - cpu_before
    rss, peak = memory_mib(web, "VmRSS"), memory_mib(web, "VmHWM")
    print(
        f"web process: {cpu:.1f} CPU s over {time.monotonic() - started:.0f} s · resident "
        f"{rss_before:.0f} → {rss:.0f} MiB (peak {peak:.0f})"
    )


def report(spoken: list[dict[str, float]], connected: list[Listener]) -> None:
    own = {item: at for finals in spoken for item, at in finals.items()}
    delays, missing, duplicates = [], 0, 0
    for listener in connected:
        for item, at in own.items():
            arrivals = listener.finals.get(item, [])
            missing += not arrivals
            duplicates += max(0, len(arrivals) - 1)
            delays += [(arrivals[0] - at) * 1000] if arrivals else []
    expected = len(own) * len(connected)
    print(
        f"delivery: {len(own)} finals × {len(connected)} listeners · "
        f"{expected - missing}/{expected} delivered, {missing} missing, {duplicates} duplicated"
    )
    print(
        f"  delay after the speaker's own copy: p50 {percentile(delays, 0.5):.0f} ms "
        f"p95 {percentile(delays, 0.95):.0f} ms max {max(delays, default=float('nan')):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--listeners", type=int, default=300)
    parser.add_argument("--speakers", type=int, default=1)
    parser.add_argument("--members", type=int, default=0, help="members of the meeting in all")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds over which to connect")
    parser.add_argument("--connect-timeout", type=float, default=150.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after speech")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2"
    print(f"{platform.node()} · {os.cpu_count()} cores · {cpu} · {time.strftime('%Y-%m-%d %H:%M')}")
    slug, tokens = set_up_meeting(args.listeners, args.speakers, args.members)
    members = max(args.members, args.listeners + args.speakers + 1)
    print(f"room {slug}: {args.listeners} listeners, {args.speakers} speaker(s), {members} members")
    asyncio.run(run(args, slug, tokens))


if __name__ == "__main__":
    main()
