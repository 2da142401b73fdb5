"""Searching transcripts, each meeting in its own language.

A meeting's language chooses how its segments are searched (docs/ARCHITECTURE.md, "Search"):

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

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, F, FloatField, Q, TextField, Value, When

from .models import Meeting, Segment

# Markers that cannot occur in speech; the template escapes the text, then turns them into <mark>.
HIGHLIGHT_START, HIGHLIGHT_STOP = "\x02", "\x03"

#: ISO 639-1 codes -> PostgreSQL's text search configurations (those it ships, with a stemmer)
CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
#: languages written without spaces between words: searched as substrings (trigram index)
SPACELESS = frozenset({"th", "lo", "km", "my", "bo", "zh", "yue", "ja"})
SUBSTRING = "substring"
QUOTES = re.compile(r"[\"“”«»]")


def search_config(language: str) -> str:
    """How a meeting in ``language`` is searched: a PostgreSQL configuration, or SUBSTRING."""
    if language in SPACELESS:
        return SUBSTRING
    return CONFIGS.get(language, "simple")


def transcript_search(user, query: str, limit: int = 50) -> list[Segment]:
    """The user's meetings' segments that match, best first, each with a ``headline``: its text
    with the matched words between HIGHLIGHT_START and HIGHLIGHT_STOP."""
    meetings = Meeting.objects.for_user(user)
    segments = Segment.objects.filter(meeting__in=meetings).select_related("meeting", "version")
    if connection.vendor != "postgresql":
        found = segments.filter(_substring_filter(query))
        return _highlighted(list(found.order_by("-meeting__created_at")[:limit]), query)
    # one branch per configuration the user's meetings use, so an English meeting's branch
    # keeps using the english index and no meeting is stemmed in another's language
    by_config: dict[str, list[str]] = {}
    for language in meetings.values_list("language", flat=True).distinct():
        by_config.setdefault(search_config(language), []).append(language)
    matches, ranks, headlines = Q(pk__in=[]), [], []
    for config, languages in sorted(by_config.items()):
        in_config = Q(meeting__language__in=languages)
        if config == SUBSTRING:
            matches |= in_config & _substring_filter(query)
            continue
        vector = SearchVector("text", config=config)
        search_query = SearchQuery(query, config=config, search_type="websearch")
        matches |= in_config & Q(**{f"document_{config}": search_query})
        segments = segments.annotate(**{f"document_{config}": vector})
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
        segments.filter(matches)
        .annotate(
            rank=Case(*ranks, default=Value(0.0), output_field=FloatField()),
            headline=Case(*headlines, default=F("text"), output_field=TextField()),
        )
        .order_by("-rank", "-meeting__created_at", "start_ms")[:limit]
    )
    spaceless = set(by_config.get(SUBSTRING, []))
    results = list(found)
    _highlighted([s for s in results if s.meeting.language in spaceless], query)
    return results


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
