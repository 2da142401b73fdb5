"""The cleaning of what we write: one clean line, or a language model's text as it may be stored.

Names, titles and corrections reach other people's screens and every export format. One line
break in a speaker name used to write extra cues into SRT and WebVTT, and one control character
made python-docx refuse the whole document; exports clean any stored text with
:func:`one_line`. The validators that refuse such text in forms are in :mod:`meetings.text`.
"""

from __future__ import annotations

import re

# Every line break Python's str.splitlines() knows, Unicode's line and paragraph separators and
# NEL included: any of them may end a cue in some player.
LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# What no export can carry: C0 and C1 controls, lone surrogates (not encodable as UTF-8) and
# the noncharacters U+FFFE/U+FFFF, which XML (and so DOCX) forbids.
UNWRITABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Bidirectional overrides and isolates reorder what follows them: in a name, "Bob: yes" could
# be made to read as something else.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """Any text as one clean line: line breaks and tabs become spaces, controls are dropped."""
    text = LINE_BREAKS.sub(" ", text).replace("\t", " ")
    return UNWRITABLE.sub("", text).strip()


# UNWRITABLE but for the line feed and the tab, which a model's paragraphs and lists may hold
UNWRITABLE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def model_text(text: str) -> str:
    """What a language model wrote, as it may be stored and shown: its line breaks as "\\n",
    every other control character (NUL included: PostgreSQL refuses it, and the row with it),
    lone surrogates, noncharacters and bidirectional overrides taken out."""
    text = LINE_BREAKS.sub("\n", text)
    return BIDI_CONTROLS.sub("", UNWRITABLE_IN_TEXT.sub("", text))


def without_controls(text: str) -> str:
    """The text minus what :data:`UNWRITABLE` and :data:`BIDI_CONTROLS` match."""
    return BIDI_CONTROLS.sub("", UNWRITABLE.sub("", text))
