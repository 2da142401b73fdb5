"""Thai speech clips (tests/fixtures/thai) and the character error rate that scores them.

Thai is written without spaces between words, so word error rate means little: a whole
sentence is one "word". Both sides lose their spaces and punctuation, then characters count.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path

import jiwer

from .speech import Clip

THAI_DIR = Path(__file__).resolve().parent / "fixtures" / "thai"


@cache
def thai_clips() -> list[Clip]:
    manifest = json.loads((THAI_DIR / "manifest.json").read_text())
    return [Clip(c["id"], THAI_DIR / f"{c['id']}.wav", c["reference"]) for c in manifest["clips"]]


def thai_clip(name: str) -> Clip:
    return next(c for c in thai_clips() if c.name == name)


def letters(text: str) -> str:
    """The text without spaces or punctuation (Unicode categories Z*, P*, S*), NFC."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "ZPSC")


def character_error_rate(reference: str, hypothesis: str) -> float:
    return jiwer.cer(letters(reference), letters(hypothesis) or "<empty>")


def is_thai(text: str) -> bool:
    """Whether most of the letters are Thai script (U+0E00–U+0E7F)."""
    chars = letters(text)
    return bool(chars) and sum("\u0e00" <= ch <= "\u0e7f" for ch in chars) > 0.9 * len(chars)
