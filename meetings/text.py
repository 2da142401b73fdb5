"""What text may hold: the validators for what people type, and the cleaning for what we write.

Names, titles and corrections reach other people's screens and every export format. Forms refuse
text that would break them up front, with a message that says what is wrong; exports clean any
stored text with :func:`one_line`. The cleaning has no Django in it (:mod:`subtitles.text`, which
the speech server shares); it is named here too, as every app reaches it through this module.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from subtitles.text import (
    BIDI_CONTROLS,
    LINE_BREAKS,
    UNWRITABLE,
    model_text,
    one_line,
    without_controls,
)

__all__ = [
    "LINE_BREAKS",
    "model_text",
    "one_line",
    "validate_one_line",
    "validate_text",
    "without_controls",
]


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip()


def _refuse_controls(value: str) -> None:
    found = UNWRITABLE.search(value) or BIDI_CONTROLS.search(value)
    if found:
        raise ValidationError(
            _("Remove the invisible control character %(char)s: it cannot be shown or exported."),
            code="control_character",
            params={"char": _describe(found.group())},
        )


def validate_one_line(value: str) -> None:
    """A name or title: one line, no control characters, something visible in it."""
    if LINE_BREAKS.search(value):
        raise ValidationError(_("Use a single line: no line breaks."), code="line_break")
    _refuse_controls(value)
    if not any(unicodedata.category(char)[0] in "LNPS" for char in value):
        raise ValidationError(
            _("Use at least one visible letter, digit or symbol."), code="invisible"
        )


def validate_text(value: str) -> None:
    """Longer text (a glossary, a transcript segment): line breaks and tabs pass, controls not."""
    _refuse_controls(LINE_BREAKS.sub("", value).replace("\t", ""))
