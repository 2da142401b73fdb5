"""Give memory that was freed back to the system now and then.

The web process decodes speech in threads, and glibc's malloc gives each thread an arena of its
own and keeps what is freed there for later. Over a long meeting the process then holds hundreds
of megabytes it no longer uses: in the soak benchmark (docs/BENCHMARKS.md) it climbed from 0.8
to 1.1 GB in half an hour, and one ``malloc_trim(0)`` gave back 245 MB of it at once. Trimming
every minute from a thread of its own keeps the resident size to what is in use. Elsewhere than
glibc (musl, macOS) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable

TRIM_EVERY_SECONDS = 60.0


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the system; False where it cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def start_releasing_free_memory(every: float = TRIM_EVERY_SECONDS) -> threading.Thread | None:
    """A daemon thread that releases free memory every ``every`` seconds (None: not glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return None

    def release_forever() -> None:
        while True:
            threading.Event().wait(every)
            trim(0)

    thread = threading.Thread(target=release_forever, name="release-free-memory", daemon=True)
    thread.start()
    return thread
