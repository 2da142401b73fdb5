"""The capture state of one connection, with checked transitions."""

from __future__ import annotations

import enum


class CaptureStateError(RuntimeError):
    pass


class CaptureState(enum.Enum):
    IDLE = "idle"  # connected, no upstream session
    STREAMING = "streaming"  # audio flows to an upstream session
    STOPPING = "stopping"  # flushing the last finals

    def to(self, target: CaptureState) -> CaptureState:
        if target not in _ALLOWED[self]:
            raise CaptureStateError(
                f"expected a state that can become {target.value}, got {self.value}"
            )
        return target


_ALLOWED = {
    CaptureState.IDLE: {CaptureState.STREAMING},
    # straight to idle when the session is dropped (revoked, failed) instead of flushed
    CaptureState.STREAMING: {CaptureState.STOPPING, CaptureState.IDLE},
    CaptureState.STOPPING: {CaptureState.IDLE},
}
