"""What one Realtime session knows, in named parts that it hands to its collaborators.

* :class:`LinkState`: where the session's connection is, and the moves it may make;
* :class:`ServerSession`: what we know of the current server session, which every connection
  starts anew: where its audio clock starts, how far we sent and it heard, close()'s fence;
* :class:`Utterances`: the utterances in flight, from their first sound to their final, and what
  a dropped connection does to them.

Positions are absolute byte offsets into everything the session appended (24 kHz PCM16), so
they survive reconnects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .protocol import BYTES_PER_MS
from .replay import Utterance


class LinkState(enum.Enum):
    """Where a session's connection is; :data:`LINK_MOVES` says where it may go next.

    ::

        CONNECTING ──► CONNECTED ──► RECONNECTING ──► MOVING ──► CONNECTING
                           ▲               │
                           └───────────────┘  the SDK reconnected to the same endpoint

    and from any state to CLOSED, once, when the session's supervisor ends.
    """

    #: opening a connection: at start, or at another endpoint after MOVING
    CONNECTING = "connecting"
    #: configured, the replay sent: audio may be sent
    CONNECTED = "connected"
    #: the socket dropped and the SDK reconnects to the same endpoint: audio waits for the replay
    RECONNECTING = "reconnecting"
    #: the socket dropped and another endpoint is healthy: the SDK gave up, the session goes there
    MOVING = "moving"
    #: the supervisor ended: no connection any more
    CLOSED = "closed"


LINK_MOVES: dict[LinkState, frozenset[LinkState]] = {
    LinkState.CONNECTING: frozenset({LinkState.CONNECTED, LinkState.CLOSED}),
    LinkState.CONNECTED: frozenset({LinkState.RECONNECTING, LinkState.CLOSED}),
    LinkState.RECONNECTING: frozenset({LinkState.CONNECTED, LinkState.MOVING, LinkState.CLOSED}),
    LinkState.MOVING: frozenset({LinkState.CONNECTING, LinkState.CLOSED}),
    LinkState.CLOSED: frozenset(),
}


def check_move(current: LinkState, new: LinkState) -> None:
    if new not in LINK_MOVES[current]:
        allowed = ", ".join(sorted(state.value for state in LINK_MOVES[current])) or "none"
        raise RuntimeError(
            f"a realtime connection cannot go from {current.value} to {new.value} "
            f"(from {current.value}: {allowed})"
        )


@dataclass
class ServerSession:
    """What we know of the current server session; each new connection restarts it.

    The server's audio clock starts at ``offset``, where the replay starts.
    """

    offset: int = 0  # where its clock starts
    sent: int = 0  # the audio sent to it reaches here
    heard: int = 0  # the furthest position it has reported on
    commit_sent: int = 0  # our latest commit sent to it (streaming models)
    fence: str | None = None  # event id of close()'s session.update
    fence_acked: bool = False  # the fence's session.updated came: every commit was handled

    def restart(self, position: int) -> None:
        """A new server session, whose clock starts at ``position``."""
        self.offset = self.sent = self.heard = self.commit_sent = position
        self.fence, self.fence_acked = None, False

    def ms(self, server_ms: Any) -> int:
        """A reading of the server's clock → ours (the server's restarts with every connection)."""
        try:
            value = int(server_ms)
        except (TypeError, ValueError):
            value = (self.heard - self.offset) // BYTES_PER_MS
        return value + self.offset // BYTES_PER_MS

    def hear(self, ms: int) -> None:
        self.heard = max(self.heard, ms * BYTES_PER_MS)


@dataclass
class Utterances:
    """The utterances in flight, and where our latest commit ends.

    With server VAD only ``items`` and ``lost`` are used. With a streaming model the engine
    ends each utterance itself: an utterance is ``current`` while spoken, then a commit mark in
    ``marks``, then ``awaiting`` its ``committed`` once the commit is sent, and from then on in
    ``items`` under the server's id until its final.
    """

    items: dict[str, Utterance] = field(default_factory=dict)  # by the server session's ids
    lost: list[Utterance] = field(default_factory=list)  # not transcribed at the last drop
    current: Utterance | None = None  # being spoken, not committed
    marks: list[Utterance] = field(default_factory=list)  # ended, commit not sent on this conn
    awaiting: list[Utterance] = field(default_factory=list)  # commit sent, no ``committed`` yet
    last_commit: int = 0  # absolute byte position of our latest commit

    def in_flight(self) -> bool:
        """Whether some utterance still waits for its final (``lost`` ones aside)."""
        return bool(self.items or self.marks or self.awaiting)

    def pending(self) -> list[Utterance]:
        """Every utterance whose audio the server may still need."""
        current = [self.current] if self.current else []
        return [*self.items.values(), *self.marks, *self.awaiting, *current]

    def next_unbound(self) -> Utterance | None:
        """The oldest utterance committed whose ``committed`` has not come yet."""
        return next((u for u in self.awaiting if not u.server_id), None)

    def clear(self, position: int) -> None:
        """The input buffer was cleared up to ``position``: speech not committed is gone."""
        self.items = {k: v for k, v in self.items.items() if v.committed}
        self.lost = []
        self.current, self.marks, self.last_commit = None, [], position

    def dropped(self, streaming: bool) -> None:
        """The connection dropped: what it had not transcribed goes to the next one.

        With server VAD the replayed speech gets new ids, which :attr:`lost` gives back ours
        by where it starts; a streaming model's utterances are committed again where they were.
        """
        if streaming:
            self._recommit_later()
        else:
            self.lost = sorted(self.items.values(), key=lambda item: item.start_ms)
        self.items = {}

    def _recommit_later(self) -> None:
        """Every utterance not transcribed yet is committed again, at the same place, on the
        next connection (the replay starts before the oldest of them).
        """
        committed = [u for u in self.items.values() if u.committed]
        pending = {id(u): u for u in [*committed, *self.awaiting, *self.marks]}
        self.marks = sorted(pending.values(), key=lambda u: u.commit_at)
        self.awaiting = []
        for item in [*self.marks, *([self.current] if self.current else [])]:
            item.forget_server()
            item.committed = False
