"""The room's snapshot for new connections, read once for all who are waiting for it.

In a storm (a thousand people opening the link at 9:00) every connection needs the same
snapshot of its room (:func:`meetings.queries.room_snapshot`): the connections that ask while
a read is under way share the next read (:class:`meetings.batched_reads.BatchedReads`).

Every connection asks after it joined the room's group, and each read starts after every one
of its askers asked: so whatever a read misses reached them through the group, as it would
have with a read of their own.
"""

from __future__ import annotations

from meetings import queries
from meetings.batched_reads import BatchedReads
from meetings.models import Meeting

#: (meeting, speakers, history), as queries.room_snapshot takes them
Room = tuple[Meeting, int, int]


def _read_rooms(rooms: list[Room]) -> dict[Room, queries.RoomSnapshot | Exception]:
    return {room: queries.room_snapshot(*room) for room in rooms}


_snapshots: BatchedReads[Room, queries.RoomSnapshot] = BatchedReads(_read_rooms)


async def read(meeting: Meeting, speakers: int, history: int) -> queries.RoomSnapshot:
    """The room's snapshot, read after this call began (shared with whoever asked alongside)."""
    return await _snapshots.get((meeting, speakers, history))
