"""The room's snapshot for new connections, read once for all who are waiting for it.

In a storm (a thousand people opening the link at 9:00) every connection needs the same
snapshot of its room (:func:`meetings.queries.room_snapshot`), and the process has one
database thread: read once each, the reads queue behind each other and connecting takes a
minute. Here the connections that ask while a read is under way wait for the next read
together, which starts as soon as that one ends: a read per round trip, not per connection.

Every connection asks after it joined the room's group, and each read starts after every one
of its askers asked: so whatever a read misses reached them through the group, as it would
have with a read of their own.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from meetings import queries
from meetings.models import Meeting

#: (event loop, meeting id) → the read that the next askers wait for
_next_reads: dict[tuple[asyncio.AbstractEventLoop, int], asyncio.Future] = {}
#: (event loop, meeting id) → the task reading that room now
_reading: dict[tuple[asyncio.AbstractEventLoop, int], asyncio.Task] = {}


async def read(meeting: Meeting, speakers: int, history: int) -> queries.RoomSnapshot:
    """The room's snapshot, read after this call began (shared with whoever asked alongside)."""
    loop = asyncio.get_running_loop()
    room = (loop, meeting.pk)
    future = _next_reads.get(room)
    if future is None:
        future = _next_reads[room] = loop.create_future()
        if room not in _reading:
            task = loop.create_task(_read_while_asked(room, meeting, speakers, history))
            _reading[room] = task
    # shielded: one asker that goes away does not cancel the others' read
    return await asyncio.shield(future)


async def _read_while_asked(
    room: tuple[asyncio.AbstractEventLoop, int], meeting: Meeting, speakers: int, history: int
) -> None:
    try:
        # taken off before the read starts: whoever asks from now on waits for the next one
        while (future := _next_reads.pop(room, None)) is not None:
            try:
                snapshot = await database_sync_to_async(queries.room_snapshot)(
                    meeting, speakers, history
                )
            except asyncio.CancelledError:
                future.cancel()  # the loop is closing
                raise
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(snapshot)
    finally:
        _reading.pop(room, None)
