"""Exports with a translation (``?translation=fr`` on any export).

TXT and DOCX show each segment's translation under its original, JSON gives each segment a
``translation`` field, and SRT and WebVTT are subtitles in the translation's language (the
translation instead of the original). A few segments not translated yet are translated now,
once, and stored as the room's live translations are; more than a person should wait for are
translated by the worker, and the export says so and how far it is. When that cannot be done
the export is refused with the reason, rather than given with segments silently untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest

from chat.client import ChatFailed
from meetings.budget import CHAT_TOKENS, BudgetSpent
from meetings.exports import ExportLine
from meetings.extensions import ExportRefused
from meetings.language_model import chat_endpoint
from meetings.languages import name
from meetings.models import Segment
from meetings.rates import describe_rate, over_rate_per_user_and_meeting
from meetings.text import one_line

from .jobs import queue_transcript_translation, take_failure
from .models import Translation
from .translate import translate_once

#: the formats that are subtitles: the translation replaces the original
SUBTITLES = ("srt", "vtt")
#: missing translations an export makes while the person waits (a chat request each); more
#: go to the worker
TRANSLATE_WHILE_WAITING = 20


def translated_lines(
    segments: Iterable[Segment],
    language: str,
    fmt: str,
    refusal: Callable[[], str | None] = lambda: None,
) -> list[ExportLine]:
    """Export lines of ``segments`` with their translations into ``language``, in spoken
    order; raises ExportRefused. Before missing translations are made (paid chat calls),
    ``refusal`` says why they may not be, if so (see :func:`translation_refusal`)."""
    segments = [s for s in segments if one_line(s.text)]
    stored = _check_language(segments, language)
    missing = [s for s in segments if s.pk not in stored]
    if missing and chat_endpoint() is not None and (why := refusal()) is not None:
        raise ExportRefused(
            f"{len(missing)} segments have no {name(language)} translation yet, and they cannot "
            f"be made now: {why}",
            429,
        )
    if len(missing) > TRANSLATE_WHILE_WAITING:
        _translate_later(missing, len(segments), language)
    if missing:
        stored |= _translate_missing(missing, language)
    lines = []
    for s in segments:
        translation = stored[s.pk].text
        text, extra = (translation, None) if fmt in SUBTITLES else (s.text, translation)
        end_ms = max(s.end_ms, s.start_ms)
        lines.append(ExportLine(s.start_ms, end_ms, s.speaker_name, text, s.confidence, extra))
    return sorted(lines, key=lambda line: (line.start_ms, line.end_ms))


def translation_refusal(request: HttpRequest, meeting_id: int) -> str | None:
    """Why an export may not have missing translations made now: TRANSLATED_EXPORT_RATE_LIMIT,
    counted per user and per meeting (django-ratelimit), or the chat-token budget spent."""
    rate = settings.TRANSLATED_EXPORT_RATE_LIMIT
    if over_rate_per_user_and_meeting(request, "exports", rate, meeting_id):
        return f"exports that translate can be asked for {describe_rate(rate)}; try later."
    return CHAT_TOKENS.refusal(meeting_id)


def _check_language(segments: list[Segment], language: str) -> dict[int, Translation]:
    """The stored translations, once ``language`` is one there can be some in."""
    # checked before any query: PostgreSQL would refuse a NUL in it with an error, not a 400
    valid = re.fullmatch(r"[a-z]{2,3}", language)
    had = Translation.objects.filter(segment__in=[s.pk for s in segments], language=language)
    if not valid or not (language in settings.TRANSLATION_LANGUAGES or had.exists()):
        offered = ", ".join(settings.TRANSLATION_LANGUAGES)
        raise ExportRefused(
            f"There is no translation into {language[:10]!r}: choose one of {offered}.", 400
        )
    # one of a text corrected since is not among them: it is made again
    return Translation.objects.for_segments(segments, language)


def _translate_later(missing: list[Segment], total: int, language: str) -> None:
    if chat_endpoint() is None:
        return
    done = f"{total - len(missing)} of {total} segments are done"
    meeting_id = missing[0].meeting_id
    if (failure := take_failure(meeting_id, language)) is not None:
        # the worker's last try stopped: say why, rather than queue it again unexplained
        raise ExportRefused(
            f"Translating the transcript into {name(language)} stopped: {failure} {done}; "
            "export again to ask for it again.",
            503,
        )
    queue_transcript_translation(meeting_id, [s.pk for s in missing], language)
    raise ExportRefused(
        f"The transcript is being translated into {name(language)}: {done}. "
        "Try the export again in a few minutes.",
        503,
    )


def _translate_missing(missing: list[Segment], language: str) -> dict[int, Translation]:
    endpoint = chat_endpoint()
    if endpoint is None:
        raise ExportRefused(
            f"{len(missing)} segments have no {name(language)} translation yet, and translation "
            "is not set up on this server to make them.",
            503,
        )
    made = {}
    for segment in missing:
        try:
            translation = translate_once(endpoint, segment, language, wait=True)
        except BudgetSpent as exc:
            raise ExportRefused(
                f"The transcript could not be translated into {name(language)}: {exc} "
                f"The {len(made)} segments translated just now are kept.",
                429,
            ) from exc
        except ChatFailed as exc:
            raise ExportRefused(
                f"The transcript could not be translated into {name(language)}: {exc} "
                f"The {len(made)} segments translated just now are kept; try again later.",
                503,
            ) from exc
        if translation is None:  # another process still at it after a minute
            raise ExportRefused(
                f"The transcript is still being translated into {name(language)}: "
                "try again in a minute.",
                503,
            )
        made[segment.pk] = translation
    return made
