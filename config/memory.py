"""Keep the web process' memory near what it uses: glibc's malloc, set up for many threads.

The web process decodes speech in threads. By default glibc's malloc gives each thread an arena
of its own (up to 8 per core) and keeps what is freed in each for later. So, at start, two
arenas shared by all threads (what one thread frees, another reuses), and every minute the free
pages of the arenas go back to the system. Mapping large blocks on their own (``M_MMAP_THRESHOLD``)
would keep the process smaller still, but made every decode 10-80 % slower, and jemalloc was
slower and no smaller (bench/malloc_settings.py). What made the process climb for half an hour
in the soak benchmark was not malloc but a cache of oneDNN's, turned off where the live model
loads (transcription/engines/local/models.py; docs/BENCHMARKS.md). Elsewhere than glibc (musl,
macOS) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading

TRIM_EVERY_SECONDS = 60.0
ARENAS = 2
M_ARENA_MAX = -8  # mallopt()'s parameter, from glibc's malloc.h


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (malloc.h, glibc 2.33 and later)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",  # bytes in blocks mapped on their own
            "usmblks",
            "fsmblks",
            "uordblks",  # bytes in use in the arenas
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None  # not glibc, or one older than 2.33
    return libc


def malloc_in_use_mb() -> float | None:
    """What malloc has handed out and not had back, in MB; None where it cannot tell."""
    libc = _libc()
    if libc is None:
        return None
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the system; False where it cannot."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def configure_malloc() -> bool:
    """Two arenas for all threads; call before threads start (later ones use them too)."""
    libc = _libc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, ARENAS))


def start_releasing_free_memory(every: float = TRIM_EVERY_SECONDS) -> threading.Thread | None:
    """Configure malloc, then a daemon thread releases free memory every ``every`` seconds."""
    if not configure_malloc():
        return None

    def release_forever() -> None:
        while True:
            threading.Event().wait(every)
            release_free_memory()

    thread = threading.Thread(target=release_forever, name="release-free-memory", daemon=True)
    thread.start()
    return thread
