"""Any stored text, in every export format: the file stays well-formed, one segment one cue.

Each export is parsed back with the library people open it with (srt, webvtt-py, json,
python-docx). Before the fix, a line break in a name or text split cues, "-->" in a title or
speaker ended a WebVTT header or cue early, a control character made the DOCX writer fail and
a lone surrogate made every text format fail to encode.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from types import SimpleNamespace

import docx
import pytest
import srt
import webvtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetings.exports import ExportLine, clock, export, lines_from_segments
from meetings.text import one_line

NASTY = [
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\x00",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\t",
    "\ufffe",
    "\uffff",
    "\ud800",
    "\udfff",
    "\u202e",
    "\ufeff",
    "-->",
    "--->",
    "<v Eve>",
    "</v>",
    "<b>",
    "<font color=red>",
    "{\\an8}",
    "&amp;",
    "&",
    "WEBVTT",
    "NOTE ",
    "STYLE",
    "1\n00:00:01,000 --> 00:00:02,000\n",
    "00:00:01.000 --> 00:00:02.000",
    " ",
    "7",
]

texts = st.lists(
    st.one_of(
        st.text(),
        st.text(st.characters(codec=None, categories=["Cc", "Cs", "Zl", "Zp", "Cf", "Co"])),
        st.sampled_from(NASTY),
    ),
    max_size=6,
).map("".join)

export_lines = st.builds(
    ExportLine,
    start_ms=st.integers(0, 100_000_000),
    end_ms=st.integers(0, 100_000_000),
    speaker=texts,
    text=texts,
    confidence=st.one_of(st.none(), st.floats()),
)


def visible(text: str) -> set[str]:
    """Letters and digits of the text: whatever else happens, these must reach the export."""
    return {char for char in text if char.isalnum()}


# What players render in SRT text: HTML-like tags (<b>, <font color>, <script> shown as
# markup by some) and ASS override blocks ({\an8}, {\b1}).
SRT_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def check_srt(body: bytes, lines: list[ExportLine]) -> None:
    cues = list(srt.parse(body.decode()))
    assert [cue.index for cue in cues] == list(range(1, len(lines) + 1))
    for cue, line in zip(cues, lines, strict=True):
        assert cue.start == timedelta(milliseconds=line.start_ms)
        assert "\n" not in cue.content
        assert not SRT_MARKUP.search(cue.content), cue.content
        assert visible(line.text) <= set(cue.content)


@pytest.mark.parametrize(
    "text", ["<b>bold</b>", "<script>alert(1)</script>", '<font color="red">x</font>', "{\\an8}up"]
)
def test_srt_subtitles_carry_no_markup(text):
    [cue] = srt.parse(export([ExportLine(0, 1000, "<i>Eve</i>", text)], "srt").decode())
    assert not SRT_MARKUP.search(cue.content), cue.content
    assert visible(text) <= set(cue.content)


def check_vtt(body: bytes, lines: list[ExportLine]) -> None:
    captions = webvtt.from_string(body.decode())
    assert len(captions) == len(lines)
    for caption, line in zip(captions, lines, strict=True):
        assert caption.start == clock(line.start_ms)
        assert len(caption.lines) <= 1
        assert visible(line.text) <= set(caption.text)
        assert (caption.voice is not None) == bool(one_line(line.speaker))


def check_json(body: bytes, lines: list[ExportLine], title: str) -> None:
    data = json.loads(body)
    assert data["title"] == one_line(title)
    assert [s["start_ms"] for s in data["segments"]] == [line.start_ms for line in lines]
    for segment, line in zip(data["segments"], lines, strict=True):
        assert visible(line.text) <= set(segment["text"])


def check_txt(body: bytes, lines: list[ExportLine], title: str) -> None:
    header = 3 if one_line(title) else 0
    rows = body.decode().splitlines()
    assert len(rows) == header + len(lines)
    for row, line in zip(rows[header:], lines, strict=True):
        assert row.startswith("[") and visible(line.text) <= set(row)


def check_docx(body: bytes, lines: list[ExportLine], title: str) -> None:
    paragraphs = docx.Document(io.BytesIO(body)).paragraphs
    header = 1 if one_line(title) else 0
    assert len(paragraphs) == header + len(lines)
    for paragraph, line in zip(paragraphs[header:], lines, strict=True):
        assert visible(line.text) <= set(paragraph.text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(export_lines, max_size=6), title=texts)
def test_every_format_stays_well_formed_for_any_text(lines, title):
    check_srt(export(lines, "srt", title=title), lines)
    check_vtt(export(lines, "vtt", title=title), lines)
    check_json(export(lines, "json", title=title), lines, title)
    check_txt(export(lines, "txt", title=title), lines, title)
    check_docx(export(lines, "docx", title=title), lines, title)


@given(texts=st.lists(texts, max_size=8))
def test_every_segment_with_something_to_read_becomes_one_line(texts):
    segments = [
        SimpleNamespace(
            start_ms=i * 1000, end_ms=i * 1000 + 500, speaker_name="", text=t, confidence=None
        )
        for i, t in enumerate(texts)
    ]
    lines = lines_from_segments(segments)
    assert len([t for t in texts if visible(t)]) <= len(lines) <= len(texts)
    assert all(one_line(line.text) for line in lines)
