"""A connection's rights while it is open: taking rights away at once, with its close code.

A revocation (removed from the meeting, demoted, logged out, deactivated) reaches every open
connection of the user through their group (``meetings.actions.notify_access_changed_on_commit``);
the consumer's keep-alive also asks for a recheck now and then, the backstop for changes made
without the actions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404

from meetings import events, queries
from meetings.access import Access
from meetings.close_codes import CloseCode
from meetings.ws_auth import credentials_still_valid

if TYPE_CHECKING:
    from meetings.models import User

logger = logging.getLogger(__name__)


REVOKED_MESSAGES = {
    CloseCode.NOT_AUTHENTICATED: "Your session ended or your access was revoked.",
    CloseCode.FORBIDDEN: "You are no longer a participant of this meeting.",
    CloseCode.NOT_FOUND: "This meeting does not exist any more.",
}


class RightsMixin:
    """Keeps :attr:`access` current; mixed into :class:`~.consumers.CaptionConsumer`, which
    provides ``access_for``, ``send_event``, ``close`` and ``_drop_speaker``."""

    access: Access | None
    revoked: bool
    was_speaker: bool
    user: User
    scope: dict[str, Any]

    async def user_access_changed(self, message: dict[str, Any]) -> None:
        """Sent to the user's group by the actions that take rights away (meetings.actions)."""
        await self._recheck_access()

    async def _recheck_access(self) -> None:
        if self.access is None or self.revoked:
            return
        try:
            current = await self._current_access()
        except (OperationalError, InterfaceError):
            # PostgreSQL away (a restart): keep the rights as they were; the next round checks
            logger.warning("could not check the rights of user %s now", self.user.pk)
            return
        if isinstance(current, int):
            self.revoked = True  # nothing more from this client is handled
            await self._drop_speaker()
            await self.send_event(events.error_event("forbidden", REVOKED_MESSAGES[current]))
            await self.close(current)
            return
        if self.access.can_speak and not current.can_speak:
            self.was_speaker = True
            await self._drop_speaker()
            await self.send_event(
                events.error_event(
                    "forbidden", "You are a listener now: your microphone is no longer captioned."
                )
            )
        self.access = current

    @database_sync_to_async
    def _current_access(self) -> Access | int:
        """This connection's rights now, or the close code that ends it."""
        user = queries.active_user(self.user.pk)
        if user is None or not credentials_still_valid(self.scope, user):
            return CloseCode.NOT_AUTHENTICATED
        try:
            return self.access_for(user)
        except Http404:
            return CloseCode.NOT_FOUND
        except PermissionDenied:
            return CloseCode.FORBIDDEN
