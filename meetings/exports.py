"""Transcripts out: SRT, WebVTT, plain text, JSON and DOCX.

Every format is built from the same list of :class:`ExportLine`, so corrections and renamed
speakers reach every export the same way. Every writer first makes each speaker, text and title
one clean line (:func:`meetings.text.one_line`): stored text may predate validation or come from
an engine, and one line break would otherwise split a cue, one control character break a DOCX.
The line and the subtitle formats are in :mod:`subtitles.formats`, without Django, as the speech
server writes subtitles too; the rest is here.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

from subtitles.formats import ExportLine, clean, clock, to_srt, to_vtt

from .text import one_line

__all__ = [
    "FORMATS",
    "ExportBookmark",
    "ExportFormat",
    "ExportLine",
    "bookmarks_from_rows",
    "clock",
    "export",
    "lines_from_segments",
    "short_clock",
    "to_docx",
    "to_json",
    "to_json_text",
    "to_srt",
    "to_txt",
    "to_vtt",
    "zip_files",
]


@dataclass(frozen=True)
class ExportBookmark:
    """A moment someone marked: JSON lists them, TXT and DOCX after the transcript; SRT and
    WebVTT leave them out (a cue is something said; players would show a note as a caption)."""

    at_ms: int
    author: str
    note: str


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    content_type: str


FORMATS = {
    "srt": ExportFormat("srt", "application/x-subrip; charset=utf-8"),
    "vtt": ExportFormat("vtt", "text/vtt; charset=utf-8"),
    "txt": ExportFormat("txt", "text/plain; charset=utf-8"),
    "json": ExportFormat("json", "application/json"),
    "docx": ExportFormat(
        "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
}


#: the line length of the transcript page's subtitles, a common one for broadcast captions
SUBTITLE_LINE_LENGTH = 42


def lines_from_segments(segments: Iterable) -> list[ExportLine]:
    """Segments (or anything with their fields) → export lines, in spoken order."""
    lines = [
        ExportLine(s.start_ms, max(s.end_ms, s.start_ms), s.speaker_name, s.text, s.confidence)
        for s in segments
        if one_line(s.text)
    ]
    return sorted(lines, key=lambda line: (line.start_ms, line.end_ms))


def bookmarks_from_rows(bookmarks: Iterable) -> list[ExportBookmark]:
    """Bookmarks (or anything with their fields) → export bookmarks, in time order."""
    marks = [ExportBookmark(b.at_ms, b.author_name, b.note) for b in bookmarks]
    return sorted(marks, key=lambda mark: mark.at_ms)


def export(
    lines: list[ExportLine],
    fmt: str,
    *,
    title: str = "",
    bookmarks: Sequence[ExportBookmark] = (),
    summary=None,  # an extensions.ExportSection (the summary): JSON, TXT and DOCX carry it
    line_length: int | None = None,  # SRT and WebVTT: lines of at most so many characters
) -> bytes:
    writers = {"srt": to_srt, "vtt": to_vtt, "txt": to_txt, "json": to_json, "docx": to_docx}
    try:
        writer = writers[fmt]
    except KeyError:
        choices = ", ".join(FORMATS)
        raise ValueError(f"unknown export format {fmt!r} (choose from {choices})") from None
    if fmt in ("srt", "vtt"):
        return writer(lines, title=title, line_length=line_length)
    marks = [replace(m, author=one_line(m.author), note=one_line(m.note)) for m in bookmarks]
    return writer(lines, title=title, bookmarks=marks, summary=summary)


def short_clock(ms: int) -> str:
    """For people reading: 1:02:03 or 2:03."""
    hours, rest = divmod(max(ms, 0) // 1000, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _bookmark_row(mark: ExportBookmark) -> str:
    note = f": {mark.note}" if mark.note else ""
    return f"[{short_clock(mark.at_ms)}] {mark.author or 'Someone'}{note}"


def to_txt(
    lines: list[ExportLine],
    *,
    title: str = "",
    bookmarks: Sequence[ExportBookmark] = (),
    summary=None,
) -> bytes:
    lines, title = clean(lines, title)
    out = [title, "=" * len(title), ""] if title else []
    out += summary.txt_rows() if summary else []
    for line in lines:
        speaker = f"{line.speaker}: " if line.speaker else ""
        out.append(f"[{short_clock(line.start_ms)}] {speaker}{line.text}")
        if line.translation is not None:
            out.append(f"    {line.translation}")
    if bookmarks:
        out += ["", "Bookmarks", "---------", *map(_bookmark_row, bookmarks)]
    return "".join(f"{row}\n" for row in out).encode()


def to_json(
    lines: list[ExportLine],
    *,
    title: str = "",
    bookmarks: Sequence[ExportBookmark] = (),
    summary=None,
) -> bytes:
    lines, title = clean(lines, title)
    data = {
        "title": title,
        "segments": [_segment_json(line) for line in lines],
        "bookmarks": [asdict(mark) for mark in bookmarks],
    }
    if summary:
        data["summary"] = summary.json_data()
    return to_json_text(data).encode()


def _segment_json(line: ExportLine) -> dict:
    data = asdict(line)
    if line.translation is None:
        del data["translation"]  # the field is there only in an export with a translation
    return data


def to_json_text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_docx(
    lines: list[ExportLine],
    *,
    title: str = "",
    bookmarks: Sequence[ExportBookmark] = (),
    summary=None,
) -> bytes:
    from docx import Document
    from docx.shared import RGBColor

    lines, title = clean(lines, title)
    document = Document()
    if title:
        document.add_heading(title, level=1)
    if summary:
        summary.add_to_docx(document)
    for line in lines:
        paragraph = document.add_paragraph()
        time_run = paragraph.add_run(f"[{short_clock(line.start_ms)}] ")
        time_run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
        if line.speaker:
            paragraph.add_run(f"{line.speaker}: ").bold = True
        paragraph.add_run(line.text)
        if line.translation is not None:
            document.add_paragraph().add_run(line.translation).italic = True
    if bookmarks:
        document.add_heading("Bookmarks", level=2)
        for mark in bookmarks:
            document.add_paragraph(_bookmark_row(mark), style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def zip_files(files: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files:
            archive.writestr(name, body)
    return buffer.getvalue()
