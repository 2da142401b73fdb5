"""The server events of a transcription session's items: commits, deltas and transcripts.

:class:`ItemEvents` is the base of :class:`~.session.TranscriptionSession`: the session decides
when an item is committed and what its text is, this sends it as OpenAI does. Deltas stream
through a :class:`~.deltas.DeltaStream` and stop at the item's ``completed``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStoppedEvent,
)

from ..engines.openai.protocol import (
    DEFAULT_MODEL,
    LOGPROBS,
    Item,
    server_event,
    token_logprob,
    usage,
)
from .deltas import DeltaStream

logger = logging.getLogger(__name__)


class ItemEvents:
    """Sends the events of items; the session keeps the state they change."""

    settings: dict[str, Any]
    previous_item_id: str | None
    last_commit_ms: float
    commits: int

    async def send(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _speech_stopped(self, item: Item, end_ms: int) -> None:
        item.end_ms = end_ms
        await self.send(
            server_event(InputAudioBufferSpeechStoppedEvent, audio_end_ms=end_ms, item_id=item.id)
        )
        await self._commit_item(item)

    async def _commit_item(self, item: Item) -> None:
        previous, self.previous_item_id = self.previous_item_id, item.id
        self.last_commit_ms = item.end_ms or item.start_ms
        self.commits += 1
        item.committed = True
        await self.send(
            server_event(InputAudioBufferCommittedEvent, previous_item_id=previous, item_id=item.id)
        )
        message = {
            "id": item.id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        for model in (ConversationItemAdded, ConversationItemDone):
            await self.send(server_event(model, previous_item_id=previous, item=message))

    async def _stream(
        self, item: Item, tokens: list[str], avg_logprob: float | None = None
    ) -> None:
        """Deltas of an item still being spoken: none once its transcript is out."""
        if not item.done and self.settings["transcription"] is not None:
            await self._deltas(item, tokens, avg_logprob)

    async def _deltas(self, item: Item, tokens: list[str], avg_logprob: float | None) -> None:
        # logprobs only where the decoder scored the words: a final's
        include = LOGPROBS in (self.settings["include"] or []) and avg_logprob is not None
        for token in tokens:
            extra = {"logprobs": [token_logprob(token, avg_logprob or 0.0)]} if include else {}
            delta = server_event(
                ConversationItemInputAudioTranscriptionDeltaEvent,
                item_id=item.id,
                content_index=0,
                delta=token,
                **extra,
            )
            await self.send(delta)

    async def _transcribed(
        self, item: Item, text: str, avg_logprob: float | None, stream: DeltaStream | None = None
    ) -> None:
        """The final: its deltas, then its transcript.

        The deltas are what the final adds to those ``stream`` already sent (whisper-1: one
        delta, the whole text, as OpenAI sends it).
        """
        if item.done:
            logger.warning("a second transcript for %s was dropped", item.id)
            return
        item.done = True
        transcription = self.settings["transcription"]
        if transcription is None:
            return  # nothing asked for a transcript
        model = transcription.get("model") or DEFAULT_MODEL
        include = LOGPROBS in (self.settings["include"] or [])
        text = " ".join(text.split())
        if model == "whisper-1":
            tokens = [text] if text else []
            await self._deltas(item, tokens, avg_logprob or 0.0)
        else:
            tokens = re.findall(r"\s*\S+", text)
            await self._deltas(item, (stream or DeltaStream()).settled(text), avg_logprob or 0.0)
        logprobs = [token_logprob(token, avg_logprob or 0.0) for token in tokens]
        seconds = ((item.end_ms or item.start_ms) - item.start_ms) / 1000
        completed = server_event(
            ConversationItemInputAudioTranscriptionCompletedEvent,
            item_id=item.id,
            content_index=0,
            transcript=text,
            usage=usage(model, seconds, len(tokens)),
            **({"logprobs": logprobs} if include else {}),
        )
        await self.send(completed)
