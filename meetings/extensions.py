"""What the apps built on the core add to its pages and exports: they register, the core asks.

meetings imports no app above it (docs/ARCHITECTURE.md; import-linter checks it), and its
templates name none of their templates (tests/test_structure.py). Where a page or an export of
the core shows what another app knows (the languages the live engine can caption, a
transcript's summary and translations, the room's caption settings and translation picker),
that app fills in :data:`extensions` in its ``AppConfig.ready()`` and the core calls what it
finds; a page renders the template parts registered for its named places with
``{% extension_parts "<place>" %}`` (``meetings/templatetags/extension_parts.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.template import Context

    from .exports import ExportLine
    from .languages import Languages
    from .models import Meeting, Segment


class ExportRefused(Exception):
    """The export cannot be made as asked; the message says why, for the person who asked."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ExportPending(Exception):
    """The export's file needs work that the worker is doing (a translation): the request
    answers 202 with where that work is, and the file comes once it is done. ``job`` is its
    JSON (at least ``status``, ``progress`` and ``status_url``); the message is for people."""

    def __init__(self, message: str, job: dict[str, Any]) -> None:
        super().__init__(message)
        self.job = job


class ExportSection(Protocol):
    """A section that JSON, TXT and DOCX exports carry before the transcript (a summary)."""

    def json_data(self) -> dict: ...

    def txt_rows(self) -> list[str]: ...

    def add_to_docx(self, document: Any) -> None: ...


class TranslatedLines(Protocol):
    def __call__(
        self,
        segments: Iterable[Segment],
        language: str,
        fmt: str,
        refusal: Callable[[], str | None],
    ) -> list[ExportLine]:
        """Export lines of ``segments`` with their translation into ``language``; raises
        :class:`ExportPending` while missing ones are being made (never in the request), and
        :class:`ExportRefused`. ``refusal`` says why this request may not start making them."""
        ...


#: the places of the core's pages where the apps above it may add a template part
PLACES = {
    "room.settings": "the room, under the microphone: the person's own settings",
    "room.host-controls": "the room's controls for hosts",
    "transcript.exports": "the transcript page, under its downloads",
    "transcript.sections": "the transcript page, before the transcript itself",
}


@dataclass(frozen=True)
class TemplatePart:
    """A template an app adds at a place of a core page. It is rendered with the page's
    context and what ``context(page_context)`` adds to it (the app's own queries)."""

    template: str
    context: Callable[[Context], dict[str, Any]] | None = None


def _no_section(meeting: Meeting) -> ExportSection | None:
    return None


def _no_refusal(request: HttpRequest, meeting_id: int) -> str | None:
    return None


@dataclass
class Extensions:
    """What the apps above the core registered; the process has one, :data:`extensions`."""

    #: the languages the live engine can caption (transcription)
    transcribable_languages: Callable[[], Languages] | None = None
    #: the meeting's summary in its exports, or None (summaries)
    export_summary: Callable[[Meeting], ExportSection | None] = _no_section
    #: the transcript's lines with a translation, for ``?translation=`` exports (translations)
    translated_lines: TranslatedLines | None = None
    #: why this request may not start making an export's missing translations (translations)
    translation_refusal: Callable[[HttpRequest, int], str | None] = _no_refusal
    #: place (one of :data:`PLACES`) → the template parts the apps added there, in order
    template_parts: dict[str, list[TemplatePart]] = field(default_factory=dict)

    def languages(self) -> Languages:
        """What the live engine can caption: the meeting form offers it, the room warns of it."""
        if self.transcribable_languages is None:
            raise ImproperlyConfigured("no installed app says which languages can be captioned")
        return self.transcribable_languages()

    def translate(
        self, segments: Iterable[Segment], language: str, fmt: str, refusal: Callable
    ) -> list[ExportLine]:
        """The export's lines with their translation into ``language``; raises ExportPending
        or ExportRefused."""
        if self.translated_lines is None:
            raise ExportRefused(f"There is no translation into {language[:10]!r}.", 400)
        return self.translated_lines(segments, language, fmt, refusal)

    def add_template_part(
        self,
        place: str,
        template: str,
        context: Callable[[Context], dict[str, Any]] | None = None,
    ) -> None:
        """Show ``template`` at ``place`` of a core page, after what is there already."""
        self.template_parts.setdefault(_known(place), []).append(TemplatePart(template, context))

    def parts(self, place: str) -> list[TemplatePart]:
        """The template parts added at ``place``, in the order the apps added them."""
        return self.template_parts.get(_known(place), [])


def _known(place: str) -> str:
    # a misspelt place would show nothing, silently: refuse it where it is written
    if place not in PLACES:
        raise ImproperlyConfigured(f"no page has a place {place!r}; the places are {list(PLACES)}")
    return place


extensions = Extensions()
