"""The line every transcript format is written from, and the two subtitle formats: SRT, WebVTT.

Every writer first makes each speaker, text and title one clean line (:func:`.text.one_line`):
stored text may predate validation or come from an engine, and one line break would otherwise
split a cue, one control character break a DOCX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .lines import wrap
from .text import one_line


@dataclass(frozen=True)
class ExportLine:
    start_ms: int
    end_ms: int
    speaker: str
    text: str
    confidence: float | None = None
    #: in the language asked for (translations.exports): TXT and DOCX show it under the text
    translation: str | None = None


def clean(lines: list[ExportLine], title: str) -> tuple[list[ExportLine], str]:
    """Speakers, texts and the title as single clean lines, whatever was stored."""
    cleaned = [
        replace(
            line,
            speaker=one_line(line.speaker),
            text=one_line(line.text),
            translation=one_line(line.translation) if line.translation is not None else None,
            # NaN is not JSON; an unknown confidence is None
            confidence=line.confidence if _finite(line.confidence) else None,
        )
        for line in lines
    ]
    return cleaned, one_line(title)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _no_arrow(text: str) -> str:
    # "-->" marks a timing line in SRT and WebVTT; inside a cue it could start a new one.
    return text.replace("-->", "→")


# SRT has no escapes, and players render what looks like markup in it: HTML-like tags (<b>,
# <font>; some show <script> as markup) and ASS override blocks ({\an8} moves the line). Their
# brackets become look-alikes that no player reads as markup, so every letter still shows.
_SRT_PLAIN = str.maketrans({"<": "‹", ">": "›", "{": "｛", "}": "｝"})


def _srt_text(text: str) -> str:
    return _no_arrow(text).translate(_SRT_PLAIN)


def clock(ms: int, separator: str = ".") -> str:
    """12345678 ms → 03:25:45.678 (SRT wants a comma before the milliseconds)."""
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _cue_times(line: ExportLine) -> tuple[int, int]:
    # A cue must last; players drop zero-length ones.
    return line.start_ms, max(line.end_ms, line.start_ms + 1)


def _lines(text: str, line_length: int | None) -> str:
    # A cue is one line unless asked: players wrap it at spaces to their own width.
    return "\n".join(wrap(text, line_length)) if line_length else text


def to_srt(lines: list[ExportLine], *, title: str = "", line_length: int | None = None) -> bytes:
    """SRT, a cue per line; with ``line_length``, each cue's text in lines of at most that many
    characters, broken between words (Thai ones included: :mod:`.lines`)."""
    lines, title = clean(lines, title)
    cues = []
    for number, line in enumerate(lines, start=1):
        start, end = _cue_times(line)
        text = f"{line.speaker}: {line.text}" if line.speaker else line.text
        text = _srt_text(_lines(text, line_length))
        cues.append(f"{number}\n{clock(start, ',')} --> {clock(end, ',')}\n{text}\n")
    return "\n".join(cues).encode()


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(lines: list[ExportLine], *, title: str = "", line_length: int | None = None) -> bytes:
    """WebVTT, a cue per line, its speaker in a voice tag; ``line_length`` as in :func:`to_srt`
    (the speaker's name, which players may show or not, is not counted)."""
    lines, title = clean(lines, title)
    header = "WEBVTT" + (f" - {_no_arrow(title)}" if title else "")
    cues = [header + "\n"]
    for line in lines:
        start, end = _cue_times(line)
        text = _vtt_escape(_no_arrow(_lines(line.text, line_length)))
        if line.speaker:
            # The voice tag: players show the speaker, parsers expose it.
            text = f"<v {_vtt_escape(_no_arrow(line.speaker))}>{text}"
        cues.append(f"{clock(start)} --> {clock(end)}\n{text}\n")
    return "\n".join(cues).encode()
