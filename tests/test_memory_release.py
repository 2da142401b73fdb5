"""The web process keeps its memory to what it uses (config/memory.py).

A fresh Python process fills malloc arenas the way decoding threads do (many blocks freed while
a few stay alive among them), then its resident size is read. glibc keeps what was freed, as
the soak benchmark saw, unless the process gives it back; and with an arena per thread, what
one thread freed is not reused by the next, unless the threads share few arenas.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT

THREADS_FREEING = """
import json, sys, threading
from pathlib import Path
from config.memory import configure_malloc, release_free_memory

mode, waves = sys.argv[1], int(sys.argv[2])
configured = configure_malloc() if mode == "configured" else False

def rss_mb():
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

kept, done = [], threading.Event()
def fill_and_free(megabytes, freed):
    blocks = [bytearray(64 * 1024) for _ in range(megabytes * 16)]
    kept.extend(blocks[::32])  # a few stay alive, so the arena cannot shrink from its end
    blocks.clear()
    freed.set()
    done.wait()  # the thread lives on, as the server's decode threads do

# waves of two threads, each wave started once the last one has freed its blocks
for wave in range(waves):
    freed = [threading.Event(), threading.Event()]
    for event in freed:
        threading.Thread(target=fill_and_free, args=(360 // waves // 2, event)).start()
    for event in freed:
        event.wait()
before = rss_mb()
released = release_free_memory() if mode == "release" else False
print(json.dumps({"before": before, "after": rss_mb(), "released": released or configured}))
done.set()
"""


def run(mode: str, waves: int) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", THREADS_FREEING, mode, str(waves)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def test_freed_memory_is_given_back():
    kept = run("keep", 1)
    released = run("release", 1)

    assert released["released"]
    # the freed blocks (about 350 MB) stay resident until released...
    assert kept["after"] > 300
    # ...and most of them leave when they are
    assert released["before"] - released["after"] > 250


def test_threads_reuse_what_others_freed():
    # six waves of two threads, 30 MB each: an arena per thread holds all twelve
    own_arenas = run("keep", 6)
    shared = run("configured", 6)

    assert shared["released"]
    assert own_arenas["before"] > 300
    assert shared["before"] < 200
