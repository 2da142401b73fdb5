"""Live translation in a meeting room: what a room's connection does for it.

A connection chooses a language (``translation.choose``); from then on it is in the language's
channel-layer group and holds a lease in the room's chosen languages (:mod:`.live`). The
process that stores a final translates it into every chosen language, once each
(:func:`.translate.translate_once`), and the translation reaches the language's group. A
connection that chooses a language also gets the recent history in it: the stored
translations at once, the missing ones as they are made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat.client import ChatFailed
from meetings import events, queries
from meetings.language_model import HOW_TO_ENABLE, chat_endpoint
from meetings.languages import name
from transcription.live import limits
from transcription.live.presence import lease_seconds

from .actions import announce_translation_failed
from .languages import is_offered
from .live import LanguageLease, chosen_languages
from .queries import stored_translations
from .translate import translate_once_async

if TYPE_CHECKING:
    from meetings.models import Meeting, Segment, User
    from transcription.live.messages import ChooseTranslation

logger = logging.getLogger(__name__)

#: how long a leaving speaker's last finals may take to be translated
FINISH_ON_LEAVE_SECONDS = 30.0
NOT_SET_UP = "Translation is not set up on this server. "
CHOICE_LIMIT = (
    "Too many translation choices in the last minute: the language was not changed. "
    "Try again in a minute."
)


def failed_message(language: str, reason: str) -> str:
    return (
        f"Captions are not translated into {name(language)} right now: {reason} "
        "They go on in the original language."
    )


class TranslationMixin:
    """``translation.choose`` and ``caption.translated``, mixed into the room's consumer
    (:class:`transcription.live.endpoints.MeetingConsumer`, which provides ``send_event``) by
    the project's routing (:mod:`config.routing`)."""

    meeting: Meeting
    user: User
    channel_name: str
    channel_layer: Any
    tasks: list[asyncio.Task]

    translation: str | None = None
    translation_lease: LanguageLease | None = None
    #: one error while translation fails, not one a caption (again after a success)
    translation_failure_told = False
    history_task: asyncio.Task | None = None
    renew_task: asyncio.Task | None = None
    final_translations: set[asyncio.Task] | None = None

    # --- The room's hooks --------------------------------------------------------------------

    async def final_stored(self, segment: Segment) -> None:
        await super().final_stored(segment)
        await self.translate_final(segment)

    async def leave(self) -> None:
        # out of the language's group, and this speaker's last finals translated (or given up),
        # before the room hears that the connection left
        await self.stop_translating()
        await super().leave()

    # --- The listener's choice ------------------------------------------------------------

    async def on_translation_choose(self, message: ChooseTranslation) -> None:
        language = message.language
        if language is not None and chat_endpoint() is None:
            await self.send_event(
                events.error_event("translation_unavailable", NOT_SET_UP + HOW_TO_ENABLE)
            )
            return
        if language is not None and not is_offered(language):
            offered = ", ".join(settings.TRANSLATION_LANGUAGES)
            await self.send_event(
                events.error_event(
                    "invalid_message",
                    f"translation.choose: {language!r} is not offered; choose one of {offered}.",
                )
            )
            return
        if language is not None and not await limits.allow_translation_choice(
            self.user.pk, self.meeting.pk
        ):
            await self.send_event(events.error_event("rate_limited", CHOICE_LIMIT))
            return
        await self._leave_translation()
        self.translation, self.translation_failure_told = language, False
        if language is not None:
            self.translation_lease = LanguageLease(self.meeting.pk, self.channel_name, language)
            await self.channel_layer.group_add(
                events.translation_group(self.meeting.pk, language), self.channel_name
            )
            await self.translation_lease.renew()
            if self.renew_task is None:
                self.renew_task = asyncio.create_task(self._renew_language())
                self.tasks.append(self.renew_task)
        await self.send_event(events.translation_chosen(language))
        if language is not None:
            self.history_task = asyncio.create_task(self._translate_history(language))

    async def _leave_translation(self) -> None:
        if self.history_task is not None:
            self.history_task.cancel()
        lease, self.translation_lease = self.translation_lease, None
        language, self.translation = self.translation, None
        if lease is not None:
            with contextlib.suppress(Exception):  # Redis away: the lease lapses by itself
                await lease.release()
        if language is not None:
            await self.channel_layer.group_discard(
                events.translation_group(self.meeting.pk, language), self.channel_name
            )

    async def _renew_language(self) -> None:
        while True:
            await asyncio.sleep(lease_seconds() / 3)
            if self.translation_lease is not None:
                with contextlib.suppress(Exception):  # Redis away: the next round tries again
                    await self.translation_lease.renew()

    async def _translate_history(self, language: str) -> None:
        """The recent finals in ``language``: those stored now, then the missing ones.

        This connection is in the language's group already, so a translation stored from
        now on (by this task or any process) reaches it through the group; one stored
        before is in the rows read here.
        """
        segments = await database_sync_to_async(queries.recent_finals)(
            self.meeting, settings.CAPTIONS_HISTORY
        )
        stored = await database_sync_to_async(stored_translations)(segments, language)
        for segment in segments:
            if segment.pk in stored:
                text = stored[segment.pk].text
                await self.send_event(events.caption_translated(segment, language, text))
        endpoint = chat_endpoint()
        for segment in segments:
            if segment.pk in stored or endpoint is None:
                continue
            try:
                await translate_once_async(endpoint, segment, language)
            except Exception as exc:
                await self._tell_failure(language, exc)
                return

    # --- Finals this process stored ---------------------------------------------------------

    async def translate_final(self, segment: Segment) -> None:
        """Translate a final just stored into every language chosen in the room, aside:
        the speaker's next finals do not wait for the chat model."""
        if self.final_translations is None:
            self.final_translations = set()
        task = asyncio.create_task(self._translate_final(segment))
        self.final_translations.add(task)
        task.add_done_callback(self.final_translations.discard)

    async def _translate_final(self, segment: Segment) -> None:
        endpoint = chat_endpoint()
        if endpoint is None:
            return
        try:
            languages = await chosen_languages(self.meeting.pk)
        except Exception:
            logger.warning("could not read the room's chosen languages", exc_info=True)
            return

        async def translate(language: str) -> None:
            try:
                await translate_once_async(endpoint, segment, language)
            except Exception as exc:
                reason = _reason(exc)
                await announce_translation_failed(
                    self.meeting.pk, language, failed_message(language, reason)
                )

        await asyncio.gather(*(translate(language) for language in sorted(languages)))

    async def stop_translating(self) -> None:
        """On leaving the room: out of the language's group, and this speaker's last finals
        translated (or given up after a while)."""
        await self._leave_translation()
        if self.final_translations:
            _, late = await asyncio.wait(self.final_translations, timeout=FINISH_ON_LEAVE_SECONDS)
            for task in late:
                task.cancel()

    # --- From the language's group ---------------------------------------------------------

    async def room_caption_translated(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event["language"] == self.translation:  # not one of a language left since
            self.translation_failure_told = False
            await self.send_event(event)

    async def room_translation_failed(self, message: dict[str, Any]) -> None:
        if message["language"] == self.translation and not self.translation_failure_told:
            self.translation_failure_told = True
            await self.send_event(message["event"])

    async def _tell_failure(self, language: str, exc: Exception) -> None:
        if language == self.translation and not self.translation_failure_told:
            self.translation_failure_told = True
            message = failed_message(language, _reason(exc))
            await self.send_event(events.error_event("translation_failed", message))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ChatFailed):
        return str(exc)  # written for users: what went wrong, without the endpoint's details
    logger.error("translating a caption failed", exc_info=exc)
    return "an error on the server."
