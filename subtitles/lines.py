"""A caption's text as subtitle lines of at most so many characters, broken between words.

Words end at spaces, and inside a run of Thai, where PyThaiNLP's newmm says: Thai is written
without spaces between words, so a Thai caption is one run that a player can only cut anywhere
or not at all. PyThaiNLP is imported only when a run of Thai is too long for a line (its import
and dictionary take about a second, once per process). A word longer than a line stays whole.
"""

from __future__ import annotations

import os
import re
import unicodedata

THAI = re.compile(r"[\u0e00-\u0e7f]")


def width(text: str) -> int:
    """How many characters a line shows: Thai vowel and tone marks sit above or below a letter."""
    return sum(1 for char in text if unicodedata.category(char) != "Mn")


def thai_words(run: str) -> list[str]:
    """A run without spaces cut into words (newmm: the dictionary that ships in the wheel)."""
    # nothing to download or cache: without this, importing it makes ~/pythainlp-data, which a
    # server's user may have no right to
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
    from pythainlp.tokenize import word_tokenize

    return [word for word in word_tokenize(run, engine="newmm", keep_whitespace=False) if word]


def _pieces(text: str, line_length: int) -> list[tuple[str, str]]:
    """(glue, word) pairs: the glue is the space before a word, or nothing inside a Thai run."""
    pieces = []
    for run in text.split():
        words = [run]
        if width(run) > line_length and THAI.search(run):
            words = thai_words(run)
        pieces.append((" ", words[0]))
        pieces.extend(("", word) for word in words[1:])
    return pieces


def wrap(text: str, line_length: int) -> list[str]:
    """``text`` as lines of at most ``line_length`` characters (``width``), filled greedily."""
    lines: list[str] = []
    line = ""
    for glue, word in _pieces(text, line_length):
        if line and width(line + glue + word) > line_length:
            lines.append(line)
            line = word
        else:
            line = line + glue + word if line else word
    if line:
        lines.append(line)
    return lines
