"""The ways a host stops being one, shared by the tests of what ends with their rights."""

from __future__ import annotations

from meetings import actions
from meetings.models import Membership

#: as the room page and the admin's action make them; bob is the host who loses the right
LOSSES = {
    "removed": lambda cast: actions.do_remove_member(cast.meeting, cast.bob),
    "made a listener": lambda cast: actions.do_set_role(
        cast.meeting, cast.bob, Membership.Role.LISTENER
    ),
    "deactivated": lambda cast: actions.do_deactivate_user(cast.bob),
}


def make_bob_host(cast) -> None:
    actions.do_set_role(cast.meeting, cast.bob, Membership.Role.HOST)
