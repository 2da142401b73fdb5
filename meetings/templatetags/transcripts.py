from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from meetings import exports
from meetings.search import HIGHLIGHT_START, HIGHLIGHT_STOP

register = template.Library()

LOW_WORD_PROBABILITY = 0.5


@register.filter
def clock(ms: int | None) -> str:
    """Milliseconds on the meeting's clock → 2:03 or 1:02:03."""
    return exports.short_clock(ms or 0)


@register.filter
def words_for_review(segment) -> list[dict]:
    """The segment's words with a flag on the ones the engine was unsure of.

    Only while the text is as transcribed: after a correction the words no longer match.
    """
    if not segment.words or segment.was_corrected:
        return []
    return [
        {"text": word, "low": probability is not None and probability < LOW_WORD_PROBABILITY}
        for word, _start, _end, probability in segment.words
    ]


@register.filter
def highlight(headline: str) -> SafeString:
    """A search headline, escaped, with the matched words in <mark>."""
    marked = escape(headline).replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>")
    return mark_safe(marked)


@register.filter
def audio_of(segment_audio: dict, segment) -> object | None:
    """The segment's place in a recording, from the transcript view's ``segment_audio``."""
    return segment_audio.get(segment.pk) if segment_audio else None
