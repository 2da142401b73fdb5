"""``/ws/captions/<token>/``: a caption link's read-only view of a meeting's live captions.

Nobody logs in: the link's token is the credential. The viewer hears the meeting's room group,
forwards captions and the meeting's end, and nothing else of the room; it sends nothing into
the meeting. A revocation reaches it through the link's own group and closes it at once; a
change to the rights of the host who made the link reaches it through that host's group (as it
reaches the host's own sockets), and it closes if the maker is no longer a host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from meetings import events as room_events
from meetings.close_codes import CloseCode
from transcription.live import limits

from . import events, queries
from .models import CaptionLink

logger = logging.getLogger(__name__)


#: new connections per link in any 60 s, over every process: a projector that reconnects now
#: and then is far below it, a script opening sockets in a loop is not
CONNECTS_PER_MINUTE = 30

#: the room's events a viewer gets, by channel-layer handler name
FORWARDED = {
    room_events.handler_name("caption.partial"),
    room_events.handler_name("caption.final"),
    room_events.handler_name("meeting.ended"),
    room_events.handler_name("meeting.reopened"),
}


class CaptionViewerConsumer(AsyncWebsocketConsumer):
    link: CaptionLink | None = None
    #: set when the link stopped working: nothing more is forwarded while the socket closes
    stopped = False
    recheck: asyncio.Task | None = None

    async def connect(self) -> None:
        # accept first: a close code can only be sent on an open WebSocket
        await self.accept()
        link = await self._active_link()
        if link is None:
            await self.close(CloseCode.NOT_FOUND)
            return
        if not await limits.allow_caption_view(link.pk, CONNECTS_PER_MINUTE):
            await self.close(CloseCode.TOO_MANY)
            return
        await self.channel_layer.group_add(events.link_group(link.pk), self.channel_name)
        await self.channel_layer.group_add(
            room_events.room_group(link.meeting_id), self.channel_name
        )
        # the maker's rights changing is told to their group (meetings.actions)
        await self.channel_layer.group_add(
            room_events.user_group(link.created_by_id), self.channel_name
        )
        self.link = link
        # Checked again now that a revocation or the maker's lost rights would reach this
        # connection: one committed between the first look and joining the groups would
        # otherwise be missed.
        if await self._active_link() is None:
            await self.close(CloseCode.NOT_FOUND)
            return
        await self._send(await self._ready())
        self.recheck = asyncio.create_task(self._recheck_now_and_then())

    async def disconnect(self, code: int) -> None:
        if self.recheck is not None:
            self.recheck.cancel()
        if self.link is None:
            return
        for group in (
            events.link_group(self.link.pk),
            room_events.room_group(self.link.meeting_id),
            room_events.user_group(self.link.created_by_id),
        ):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # read-only: no audio, no messages; a client that sends any is not a caption view
        await self.close(CloseCode.READ_ONLY)

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind.startswith("websocket."):
            await super().dispatch(message)
        elif self.stopped or self.link is None:
            return
        elif kind == events.LINK_REVOKED:
            await self._stop(events.REVOKED_MESSAGE)
        elif kind == room_events.ACCESS_CHANGED:
            await self._check_link()
        elif kind in FORWARDED:
            await self._send(self._for_viewer(message["event"]))
        # Every other room event (presence, speech, bookmarks) is not for a caption view.

    async def _stop(self, message: str) -> None:
        self.stopped = True
        await self._send(events.viewer_revoked(message))
        await self.close(CloseCode.REVOKED)

    async def _check_link(self) -> None:
        try:
            why = await self._why_stopped()
        except (OperationalError, InterfaceError):
            # PostgreSQL away (a restart): the link stays as it was; the next round checks
            logger.warning("could not check caption link %s now", self.link.pk)
            return
        if why:
            await self._stop(events.STOPPED_MESSAGES[why])

    async def _recheck_now_and_then(self) -> None:
        """The backstop for changes made without the actions (a shell, raw SQL): noticed
        within CAPTIONS_ACCESS_RECHECK_SECONDS, as the room's own sockets notice them."""
        while True:
            await asyncio.sleep(settings.CAPTIONS_ACCESS_RECHECK_SECONDS)
            # through the consumer's own queue, so it never runs beside another handler
            with contextlib.suppress(Exception):  # Redis away: the next round tries again
                await self.channel_layer.send(
                    self.channel_name, {"type": room_events.ACCESS_CHANGED}
                )

    @staticmethod
    def _for_viewer(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"].startswith("caption."):
            return dict(events.viewer_caption(event))
        return {"type": event["type"]}

    async def _send(self, event: Any) -> None:
        await self.send(text_data=json.dumps(event))

    async def _active_link(self) -> CaptionLink | None:
        token = self.scope["url_route"]["kwargs"]["token"]
        return await database_sync_to_async(queries.active_link)(token)

    async def _why_stopped(self) -> str:
        return await database_sync_to_async(queries.why_link_stopped)(self.link.pk)

    async def _ready(self) -> events.ViewerReady:
        return await database_sync_to_async(queries.viewer_ready)(self.link)
