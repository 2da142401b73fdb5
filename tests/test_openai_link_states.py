"""The OpenAI realtime session's link: the states its connection goes through, and the moves."""

from __future__ import annotations

import pytest

from transcription.engines.openai.state import LinkState, check_move

CONNECTING, CONNECTED = LinkState.CONNECTING, LinkState.CONNECTED
RECONNECTING, MOVING, CLOSED = LinkState.RECONNECTING, LinkState.MOVING, LinkState.CLOSED


def test_it_goes_through_a_reconnect_and_a_move_to_the_end():
    # start; the SDK reconnects to the same endpoint; then it moves to another one; close()
    path = [CONNECTED, RECONNECTING, CONNECTED, RECONNECTING, MOVING, CONNECTING, CONNECTED]
    state = CONNECTING
    for new in [*path, CLOSED]:
        check_move(state, new)
        state = new


def test_it_may_close_from_every_state_once():
    for state in LinkState:
        if state is not CLOSED:
            check_move(state, CLOSED)
    for state in LinkState:
        with pytest.raises(RuntimeError, match=f"from closed to {state.value}"):
            check_move(CLOSED, state)


def test_it_refuses_a_move_its_diagram_does_not_draw_naming_both_states():
    with pytest.raises(RuntimeError, match="from connected to moving"):
        check_move(CONNECTED, MOVING)  # a drop is first a reconnect, then maybe a move
    with pytest.raises(RuntimeError, match="from moving to connected"):
        check_move(MOVING, CONNECTED)  # a move opens a new connection first
    with pytest.raises(RuntimeError, match="from connecting to reconnecting"):
        check_move(CONNECTING, RECONNECTING)  # the SDK reconnects only a connection in use
