"""Meeting languages as people read them: names, the form's choices, what the room warns of.

Which languages the server can caption comes from the live engine, asked through
:mod:`meetings.extensions` (transcription answers): any object with ``codes`` (ISO 639-1 codes)
and ``detects`` (the engine can detect the language: a meeting's ``auto``).
"""

from __future__ import annotations

from typing import Protocol

from django.conf.locale import LANG_INFO

AUTO = "auto"
AUTO_LABEL = "Detect automatically"

#: English names of Whisper's languages that Django's LANG_INFO does not name
MORE_NAMES = {
    "am": "Amharic",
    "as": "Assamese",
    "ba": "Bashkir",
    "bo": "Tibetan",
    "fo": "Faroese",
    "gu": "Gujarati",
    "ha": "Hausa",
    "haw": "Hawaiian",
    "ht": "Haitian Creole",
    "jw": "Javanese",
    "la": "Latin",
    "ln": "Lingala",
    "lo": "Lao",
    "mg": "Malagasy",
    "mi": "Māori",
    "mt": "Maltese",
    "oc": "Occitan",
    "ps": "Pashto",
    "sa": "Sanskrit",
    "sd": "Sindhi",
    "si": "Sinhala",
    "sn": "Shona",
    "so": "Somali",
    "su": "Sundanese",
    "tl": "Tagalog",
    "yi": "Yiddish",
    "yo": "Yoruba",
    "yue": "Cantonese",
    "zh": "Chinese",
}


class Languages(Protocol):
    codes: frozenset[str]
    detects: bool


def name(code: str) -> str:
    """ "Thai", or the code itself for one nobody named."""
    if code == AUTO:
        return AUTO_LABEL
    return MORE_NAMES.get(code) or LANG_INFO.get(code, {}).get("name") or code


def label(code: str) -> str:
    """ "Thai (th)": the name people look for, and the code the API and exports use."""
    return AUTO_LABEL if code == AUTO else f"{name(code)} ({code})"


def choices(languages: Languages) -> list[tuple[str, str]]:
    """English first (most meetings, and the default), then "Detect automatically" where the
    engine detects, then every other language by name."""
    others = sorted((code for code in languages.codes if code != "en"), key=name)
    first = ["en"] if "en" in languages.codes else []
    auto = [AUTO] if languages.detects else []
    return [(code, label(code)) for code in first + auto + others]


def can_caption(code: str, languages: Languages) -> bool:
    return code in languages.codes or (code == AUTO and languages.detects)


def refusal(code: str, languages: Languages) -> str:
    """Why a meeting in ``code`` gets no captions in it here, in words for its people."""
    if languages.codes == {"en"}:
        model = "This server's speech model transcribes English only"
    else:
        model = "This server's speech engine cannot transcribe it"
    if code == AUTO:
        return f"{model}, so it cannot detect the language. Choose the meeting's language."
    return (
        f"{model}: captions in {label(code)} need a multilingual model or another engine "
        "(see “Meeting languages” in the operations guide)."
    )


def room_warning(code: str, languages: Languages) -> dict[str, str] | None:
    """What the room says of a meeting language the engine cannot caption (a ``headline`` and
    its ``detail``), or None when it can."""
    if can_caption(code, languages):
        return None
    if code == AUTO:
        headline = "Detecting the meeting's language needs another speech model or engine."
    else:
        headline = f"Captions in {label(code)} need another speech model or engine."
    if languages.codes == {"en"}:
        detail = "This server's model transcribes English only, so speech here is captioned as "
        detail += "English."
    else:
        detail = "This server's speech engine does not know this language; it captions what it "
        detail += "can."
    return {"headline": headline, "detail": detail}


#: ISO 639-1 codes -> PostgreSQL's text search configurations (the ones it ships with a stemmer)
TEXT_SEARCH_CONFIGS = {
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
#: languages written without spaces between words: searched as substrings (meetings/search.py)
SPACELESS = frozenset({"th", "lo", "km", "my", "bo", "zh", "yue", "ja"})


def spoken(meeting_language: str, segment_language: str) -> str:
    """The language a segment is in: its meeting's, or, in a meeting that detects it, the one
    the engine detected (a meeting that switches between Thai and English)."""
    if meeting_language == AUTO:
        return segment_language
    return meeting_language


def text_search_config(language: str) -> str:
    """The PostgreSQL configuration that indexes text in ``language``: its stemmer, or
    ``simple`` (words as written), which a language without spaces gets too."""
    return TEXT_SEARCH_CONFIGS.get(language, "simple")
