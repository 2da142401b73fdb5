"""Searching transcripts, each meeting in its own language.

A segment's language (its meeting's, or the one detected in a meeting that detects it) chooses
how it is searched (docs/ARCHITECTURE.md, "Text in Thai and other languages");
``Segment.search_config`` keeps the choice, which an index on ``to_tsvector(search_config,
text)`` serves:

* a language PostgreSQL stems (english, french, german, ...) through that text search
  configuration, so "meetings" finds "meeting" in English and "réunions" finds "réunion" in
  French;
* a script written without spaces between words (Thai, Chinese, Japanese, ...) as a substring,
  served by pg_trgm's index: PostgreSQL's parser makes a whole Thai sentence one token, and word
  segmentation found two words in three of those a person marked (bench/thai_search.py);
* any other language through ``simple``: words as written, unstemmed.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import (
    SearchConfig,
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
)
from django.db import connection
from django.db.models import Case, F, FloatField, Q, TextField, Value, When

from . import languages
from .models import Meeting, Segment

# Markers that cannot occur in speech; the template escapes the text, then turns them into <mark>.
HIGHLIGHT_START, HIGHLIGHT_STOP = "\x02", "\x03"

SUBSTRING = "substring"
QUOTES = re.compile(r"[\"“”«»]")


def search_config(language: str) -> str:
    """How text in ``language`` is searched: a PostgreSQL configuration, or SUBSTRING."""
    if language in languages.SPACELESS:
        return SUBSTRING
    return languages.text_search_config(language)


def transcript_search(user, query: str, limit: int = 50) -> list[Segment]:
    """The user's meetings' segments that match, best first, each with a ``headline``: its text
    with the matched words between HIGHLIGHT_START and HIGHLIGHT_STOP."""
    meetings = Meeting.objects.for_user(user)
    segments = Segment.objects.filter(meeting__in=meetings).select_related("meeting", "version")
    if connection.vendor != "postgresql":
        found = segments.filter(_substring_filter(query))
        return _highlighted(list(found.order_by("-meeting__created_at")[:limit]), query)
    # one branch per configuration the user's segments are in, each with its own query, so
    # that the index on to_tsvector(search_config, text) serves it
    configs = segments.values_list("search_config", flat=True).distinct().order_by()
    matches = _spaceless() & _substring_filter(query)
    ranks, headlines = [], []
    vector = SearchVector("text", config=F("search_config"))
    for config in sorted(filter(None, configs)):
        # cast: regconfig = 'english' would be read as an oid
        in_config = Q(search_config=SearchConfig(config))
        search_query = SearchQuery(query, config=config, search_type="websearch")
        matches |= in_config & Q(document=search_query)
        ranks.append(When(in_config, then=SearchRank(vector, search_query)))
        headline = SearchHeadline(
            "text",
            search_query,
            config=config,
            start_sel=HIGHLIGHT_START,
            stop_sel=HIGHLIGHT_STOP,
            highlight_all=True,
        )
        headlines.append(When(in_config, then=headline))
    found = (
        segments.annotate(document=vector)
        .filter(matches)
        .annotate(
            rank=Case(*ranks, default=Value(0.0), output_field=FloatField()),
            headline=Case(*headlines, default=F("text"), output_field=TextField()),
        )
        .order_by("-rank", "-meeting__created_at", "start_ms")[:limit]
    )
    results = list(found)
    _highlighted([segment for segment in results if _is_spaceless(segment)], query)
    return results


def _is_spaceless(segment: Segment) -> bool:
    return languages.spoken(segment.meeting.language, segment.language) in languages.SPACELESS


def _spaceless() -> Q:
    """Segments in a language written without spaces: their meeting's, or the one detected."""
    detected = Q(meeting__language=languages.AUTO, language__in=languages.SPACELESS)
    return Q(meeting__language__in=languages.SPACELESS) | detected


def query_terms(query: str) -> list[str]:
    """The words of a query searched as substrings: all of them must occur."""
    return [term for term in QUOTES.sub(" ", query).split() if term]


def _substring_filter(query: str) -> Q:
    condition = Q()
    for term in query_terms(query):
        # icontains is ILIKE on PostgreSQL, which pg_trgm's GIN index serves
        condition &= Q(text__icontains=term)
    return condition


def _highlighted(segments: list[Segment], query: str) -> list[Segment]:
    """Mark every occurrence of the query's terms in each segment's text (its ``headline``)."""
    terms = sorted(query_terms(query), key=len, reverse=True)
    if not terms:
        return segments
    pattern = re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)
    for segment in segments:
        segment.headline = pattern.sub(
            lambda m: f"{HIGHLIGHT_START}{m.group(0)}{HIGHLIGHT_STOP}", segment.text
        )
    return segments
