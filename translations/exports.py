"""Exports with a translation (``?translation=fr`` on any export).

TXT and DOCX show each segment's translation under its original, JSON gives each segment a
``translation`` field, and SRT and WebVTT are subtitles in the translation's language (the
translation instead of the original). Exports read the stored translations only: a request
never calls the chat model. Where segments have none yet, the worker makes them (a
:class:`.models.TranscriptTranslation` job, found or started) and the export answers where it
is (:class:`ExportPending`) until the file can be made. When that cannot be done the export is
refused with the reason, rather than given with segments silently untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NoReturn

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext

from meetings.budget import CHAT_TOKENS
from meetings.exports import ExportLine
from meetings.extensions import ExportPending, ExportRefused
from meetings.language_model import chat_endpoint
from meetings.languages import name, shown_name
from meetings.models import Segment
from meetings.rates import describe_rate, over_rate_per_user_and_meeting
from meetings.text import one_line

from .jobs import NotStarted, job_json, start_transcript_translation, take_failure
from .models import Translation

#: the formats that are subtitles: the translation replaces the original
SUBTITLES = ("srt", "vtt")


def translated_lines(
    segments: Iterable[Segment],
    language: str,
    fmt: str,
    refusal: Callable[[], str | None] = lambda: None,
) -> list[ExportLine]:
    """Export lines of ``segments`` with their stored translations into ``language``, in
    spoken order. While some are missing it raises ExportPending, having started the worker's
    job that makes them unless ``refusal`` says why this request may not (see
    :func:`translation_refusal`); raises ExportRefused when they cannot be made."""
    segments = [s for s in segments if one_line(s.text)]
    stored = _check_language(segments, language)
    missing = [s for s in segments if s.pk not in stored]
    if missing:
        _translate_in_the_worker(missing, len(segments), language, refusal)
    lines = []
    for s in segments:
        translation = stored[s.pk].text
        text, extra = (translation, None) if fmt in SUBTITLES else (s.text, translation)
        end_ms = max(s.end_ms, s.start_ms)
        lines.append(ExportLine(s.start_ms, end_ms, s.speaker_name, text, s.confidence, extra))
    return sorted(lines, key=lambda line: (line.start_ms, line.end_ms))


def translation_refusal(request: HttpRequest, meeting_id: int) -> str | None:
    """Why this export may not start making missing translations (the worker's paid chat
    calls): TRANSLATED_EXPORT_RATE_LIMIT, counted per user and per meeting (django-ratelimit),
    or the chat-token budget spent. An export that finds them under way asks nothing."""
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


def _translate_in_the_worker(
    missing: list[Segment], total: int, language: str, refusal: Callable[[], str | None]
) -> NoReturn:
    """Raises ExportPending with the job that makes the missing translations, found or
    started now; ExportRefused when there can be none (no endpoint, the last one stopped,
    this request may not start one)."""
    if chat_endpoint() is None:
        raise ExportRefused(
            f"{len(missing)} segments have no {name(language)} translation yet, and translation "
            "is not set up on this server to make them.",
            503,
        )
    meeting_id = missing[0].meeting_id
    if (failure := take_failure(meeting_id, language)) is not None:
        # the worker's last try stopped: say why, rather than queue it again unexplained
        raise ExportRefused(
            f"Translating the transcript into {name(language)} stopped: {failure} "
            f"{total - len(missing)} of {total} segments are done; export again to ask for it "
            "again.",
            503,
        )
    try:
        job = start_transcript_translation(meeting_id, [s.pk for s in missing], language, refusal)
    except NotStarted as exc:
        raise ExportRefused(
            f"{len(missing)} segments have no {name(language)} translation yet, and they cannot "
            f"be made now: {exc}",
            429,
        ) from exc
    progress = job_json(job)
    message = gettext(
        "The transcript is being translated into %(language)s: %(done)s of %(total)s segments "
        "are done."
    )
    shown = {"language": shown_name(language), "done": progress["done"], "total": progress["total"]}
    raise ExportPending(message % shown, progress)
