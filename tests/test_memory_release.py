"""The web process gives freed memory back to the system (config/memory.py).

A fresh Python process fills a thread's malloc arena the way decoding does (many blocks freed
while a few stay alive among them), then its resident size is read: glibc keeps what was freed
(as the soak benchmark saw) unless the process releases it, or unless large blocks were mapped
on their own, as ``configure_malloc`` has them.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT

FRAGMENTED_ARENA = """
import json, sys, threading
from pathlib import Path
from config.memory import configure_malloc, release_free_memory

mode, block_kb = sys.argv[1], int(sys.argv[2])
configured = configure_malloc() if mode == "configured" else False

def rss_mb():
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

kept = []
def fill_and_free():
    bytearray(block_kb * 1024)  # one made and freed first, as a decode before this one did
    blocks = [bytearray(block_kb * 1024) for _ in range(384_000 // block_kb)]  # 375 MB
    kept.extend(blocks[::32])  # a few stay alive, so the arena cannot shrink from its end
    blocks.clear()

thread = threading.Thread(target=fill_and_free)
thread.start()
thread.join()
before = rss_mb()
released = release_free_memory() if mode == "release" else False
print(json.dumps({"before": before, "after": rss_mb(), "released": released or configured}))
"""


def run(mode: str, block_kb: int) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_ARENA, mode, str(block_kb)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_freed_memory_is_given_back():
    kept = run("keep", 64)
    released = run("release", 64)

    assert released["released"]
    # the freed blocks (about 360 MB) stay resident until released...
    assert kept["after"] > 300
    # ...and most of them leave when they are
    assert released["before"] - released["after"] > 250


def test_large_blocks_leave_when_freed():
    # 1 MiB blocks, like a decode's audio window: glibc's default serves them from the arena
    # once the first one is freed, and keeps them
    kept = run("keep", 1024)
    configured = run("configured", 1024)

    assert configured["released"]
    assert kept["before"] > 300
    assert configured["before"] < 100  # only the few still alive are resident
