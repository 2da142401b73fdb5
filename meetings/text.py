"""What text may hold: the validators for what people type, and the cleaning for what we write.

Names, titles and corrections reach other people's screens and every export format. One line
break in a speaker name used to write extra cues into SRT and WebVTT, and one control character
made python-docx refuse the whole document; exports clean any stored text with
:func:`one_line`, and forms refuse such text up front with a message that says what is wrong.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

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


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip()


def _refuse_controls(value: str) -> None:
    found = UNWRITABLE.search(value) or BIDI_CONTROLS.search(value)
    if found:
        raise ValidationError(
            "Remove the invisible control character %(char)s: it cannot be shown or exported.",
            code="control_character",
            params={"char": _describe(found.group())},
        )


def validate_one_line(value: str) -> None:
    """A name or title: one line, no control characters, something visible in it."""
    if LINE_BREAKS.search(value):
        raise ValidationError("Use a single line: no line breaks.", code="line_break")
    _refuse_controls(value)
    if not any(unicodedata.category(char)[0] in "LNPS" for char in value):
        raise ValidationError("Use at least one visible letter, digit or symbol.", code="invisible")


def validate_text(value: str) -> None:
    """Longer text (a glossary, a transcript segment): line breaks and tabs pass, controls not."""
    _refuse_controls(LINE_BREAKS.sub("", value).replace("\t", ""))
