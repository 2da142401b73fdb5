"""The web process gives freed memory back to the system (config/memory.py).

A fresh Python process fills a thread's malloc arena the way decoding does (many medium blocks
freed while a few stay alive among them), then releases free memory: its resident size must
drop by most of what was freed. Without the release glibc keeps it, as the soak benchmark saw.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT

FRAGMENTED_ARENA = """
import json, sys, threading
from pathlib import Path
from config.memory import release_free_memory

def rss_mb():
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

kept = []
def fill_and_free():
    blocks = [bytearray(64 * 1024) for _ in range(6000)]  # 375 MB in this thread's arena
    kept.extend(blocks[::32])  # a few stay alive, so the arena cannot shrink from its end
    blocks.clear()

thread = threading.Thread(target=fill_and_free)
thread.start()
thread.join()
before = rss_mb()
released = release_free_memory() if sys.argv[1] == "release" else False
print(json.dumps({"before": before, "after": rss_mb(), "released": released}))
"""


def run(mode: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_ARENA, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_freed_memory_is_given_back():
    kept = run("keep")
    released = run("release")

    assert released["released"]
    # the freed blocks (about 360 MB) stay resident until released...
    assert kept["after"] > 300
    # ...and most of them leave when they are
    assert released["before"] - released["after"] > 250
