"""Named reads that more than one part of the site uses, the live endpoints above all.

The consumers may not touch the ORM themselves: they call these through
database_sync_to_async, and get evaluated results, never a lazy queryset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Sum

from . import exports
from .extensions import extensions
from .models import (
    Bookmark,
    Meeting,
    Membership,
    Recording,
    Segment,
    TranscriptVersion,
    User,
)


def recent_finals(meeting: Meeting, limit: int) -> list[Segment]:
    """The meeting's latest ``limit`` finals of the live transcript, oldest first."""
    latest = Segment.objects.for_meeting(meeting).order_by("-start_ms", "-id")[:limit]
    return list(reversed(latest))


def already_said(meeting: Meeting, speaker: User, start_ms: int, end_ms: int) -> Segment | None:
    """A live final of ``speaker`` covering most of ``start_ms``–``end_ms``, if one is stored.

    Audio a client sends again after its connection dropped may have been transcribed before
    the drop: "most" is half of the shorter of the two, as clocks of two sessions differ a little.
    """
    nearby = Segment.objects.for_meeting(meeting).filter(
        speaker=speaker, start_ms__lt=end_ms, end_ms__gt=start_ms
    )
    for segment in nearby:
        overlap = min(end_ms, segment.end_ms) - max(start_ms, segment.start_ms)
        shorter = min(end_ms - start_ms, segment.end_ms - segment.start_ms)
        if overlap * 2 >= max(shorter, 1):
            return segment
    return None


def bookmarks(meeting: Meeting) -> list[Bookmark]:
    """The meeting's bookmarks, earliest moment first."""
    return list(Bookmark.objects.filter(meeting=meeting).order_by("at_ms", "id"))


def members_page(meeting: Meeting, after: int, size: int) -> list[Membership]:
    """Up to ``size`` of the meeting's memberships after the one with id ``after``, users
    included, in the order people joined (by id: a page does not move as others join)."""
    found = Membership.objects.filter(meeting=meeting, pk__gt=after).select_related("user")
    return list(found.order_by("pk")[:size])


def speaking_members(meeting: Meeting, size: int) -> list[Membership]:
    """Up to ``size`` of the meeting's hosts and speakers, users included, hosts first."""
    roles = [Membership.Role.HOST, Membership.Role.SPEAKER]
    found = Membership.objects.filter(meeting=meeting, role__in=roles).select_related("user")
    return list(found.order_by("role", "pk")[:size])


@dataclass(frozen=True)
class RoomSnapshot:
    """What every new connection to a meeting is told, the same for each of them."""

    ended_at: datetime | None
    members: int
    speakers: list[Membership]
    history: list[Segment]
    bookmarks: list[Bookmark]


def room_snapshot(meeting: Meeting, speakers: int, history: int) -> RoomSnapshot:
    """The meeting's end (read again), its member count, up to ``speakers`` hosts and
    speakers, its latest ``history`` finals and its bookmarks: four queries."""
    ended_at, members = (
        Meeting.objects.filter(pk=meeting.pk)
        .annotate(members=Count("memberships"))
        .values_list("ended_at", "members")
        .first()
    ) or (None, 0)
    return RoomSnapshot(
        ended_at=ended_at,
        members=members,
        speakers=speaking_members(meeting, speakers),
        history=recent_finals(meeting, history),
        bookmarks=bookmarks(meeting),
    )


def active_user(user_id: int) -> User | None:
    """The user, if the account still exists and is active."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def transcript_export(
    meeting: Meeting,
    version: TranscriptVersion | None,
    fmt: str,
    translation: str = "",
    refusal: Callable[[], str | None] = lambda: None,
    line_length: int | None = None,
) -> tuple[bytes, str]:
    """One transcript version of a meeting as a file in one format, and the file's name;
    with a ``translation`` language, its stored translation too (translations.exports), or
    ExportPending while the worker makes missing ones (started unless ``refusal`` says why
    not); with its summary, if it has one (summaries.exports). Both come through
    :mod:`meetings.extensions`. SRT and WebVTT break their lines at ``line_length`` characters
    if given."""
    segments = Segment.objects.of_version(meeting, version)
    if translation:
        lines = extensions.translate(segments, translation, fmt, refusal)
    else:
        lines = exports.lines_from_segments(segments)
    suffix = (f"-v{version.pk}" if version else "") + (f".{translation}" if translation else "")
    filename = f"{meeting.slug}{suffix}.{exports.FORMATS[fmt].extension}"
    bookmarks = exports.bookmarks_from_rows(Bookmark.objects.filter(meeting=meeting))
    summary = extensions.export_summary(meeting)
    body = exports.export(
        lines,
        fmt,
        title=meeting.title,
        bookmarks=bookmarks,
        summary=summary,
        line_length=line_length,
    )
    return body, filename


@dataclass(frozen=True)
class TalkTime:
    speaker: str
    ms: int
    share: float  # of everyone's talk time, 0 to 1
    segments: int

    @property
    def duration(self) -> str:
        minutes, seconds = divmod(round(self.ms / 1000), 60)
        return f"{minutes}:{seconds:02d}"


def talk_times(meeting: Meeting, version: TranscriptVersion | None) -> list[TalkTime]:
    """How long each speaker spoke in one transcript of the meeting, most first.

    Talk time is the sum of a speaker's segments (speech, without the pauses between them).
    """
    rows = (
        Segment.objects.filter(meeting=meeting, version=version)
        .values("speaker_name")
        .annotate(ms=Sum(F("end_ms") - F("start_ms")), segments=Count("id"))
        .order_by("-ms", "speaker_name")
    )
    total = sum(row["ms"] for row in rows) or 1
    return [
        TalkTime(row["speaker_name"], row["ms"], row["ms"] / total, row["segments"]) for row in rows
    ]


@dataclass(frozen=True)
class SegmentAudio:
    """Where a segment is heard: its speaker's recording, and how far into it it starts."""

    recording_id: int
    start_ms: int  # from the start of the recording
    end_ms: int


def segment_audio(meeting: Meeting, segments: Iterable[Segment]) -> dict[int, SegmentAudio]:
    """The recording each of ``segments`` (of ``meeting``) can be heard in, by segment id.

    A speaker's recording covers ``offset_ms`` to ``offset_ms + duration_ms`` on the meeting's
    clock; one still being written has no duration yet and covers everything after its start.
    Segments without a speaker, or said outside every recording of theirs, are left out.
    """
    by_speaker: dict[int, list[Recording]] = {}
    for recording in Recording.objects.filter(meeting=meeting, speaker__isnull=False):
        by_speaker.setdefault(recording.speaker_id, []).append(recording)
    found = {}
    for segment in segments:
        for recording in reversed(by_speaker.get(segment.speaker_id, [])):  # latest start first
            start = segment.start_ms - recording.offset_ms
            if start >= 0 and (not recording.duration_ms or start < recording.duration_ms):
                found[segment.pk] = SegmentAudio(
                    recording.pk, start, segment.end_ms - recording.offset_ms
                )
                break
    return found


@dataclass(frozen=True)
class BookmarkAudio:
    """Where a bookmark is heard: the segment said at (or just after) its moment, and where to
    start in that segment's recording."""

    segment_id: int
    recording_id: int
    start_ms: int  # from the start of the recording


def bookmark_audio(
    bookmarks: Iterable[Bookmark], segments: list[Segment], audio: dict[int, SegmentAudio]
) -> dict[int, BookmarkAudio]:
    """The recording each bookmark plays from, by bookmark id (``audio``: segment_audio's).

    Recordings are per speaker, so "the recording of that moment" is the one of whoever was
    speaking then: the first heard segment still going on at the bookmark, or, in a pause, the
    next one, played from its own start. A bookmark after the last heard segment has none.
    """
    heard = [s for s in segments if s.pk in audio]  # in spoken order
    found = {}
    for bookmark in bookmarks:
        segment = next((s for s in heard if s.end_ms >= bookmark.at_ms), None)
        if segment is None:
            continue
        place = audio[segment.pk]
        into = max(bookmark.at_ms - segment.start_ms, 0)
        found[bookmark.pk] = BookmarkAudio(segment.pk, place.recording_id, place.start_ms + into)
    return found
