"""What the OpenAI realtime engine keeps to survive a reconnect: audio, and utterances.

Each reconnect opens a new server session, which knows nothing of the old one. The engine
replays from :class:`ReplayBuffer` the audio the old session had not finished with, and keeps
each :class:`Utterance` it had shown partials of, so that the replayed speech finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import BYTES_PER_MS, Item


class ReplayBuffer:
    """Audio from absolute byte position ``start`` to ``end``, kept for resending."""

    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.start = 0
        self.limit = limit

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def append(self, pcm16: bytes) -> None:
        self.data += pcm16
        if len(self.data) > self.limit:
            self.drop_until(self.end - self.limit)

    def drop_until(self, position: int) -> None:
        # whole milliseconds, so that the server's clock and ours stay in step after a replay
        position = min(position, self.end) // BYTES_PER_MS * BYTES_PER_MS
        if position > self.start:
            del self.data[: position - self.start]
            self.start = position

    def read(self, position: int, size: int) -> bytes:
        offset = position - self.start
        return bytes(self.data[offset : offset + size])


@dataclass
class Utterance(Item):
    """An :class:`Item` being transcribed; ``id`` is ours and survives reconnects.

    With a streaming model (no turn detection) the engine commits each utterance itself:
    ``commit_at`` is where (an absolute byte position), ``server_id`` the id the current
    server session gave it, and ``announced`` whether :class:`SpeechStarted` went out for it.
    """

    text: str = ""
    logprobs: list[float] = field(default_factory=list)
    shown: int = 0  # length of the last partial sent: partials only grow
    commit_at: int = 0
    server_id: str = ""
    announced: bool = True
    heard_at: int = 0  # position sent when its latest delta arrived

    def forget_server(self) -> None:
        """A new server session transcribes it again from scratch; what was shown stays."""
        self.text, self.logprobs, self.server_id = "", [], ""
