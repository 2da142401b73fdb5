"""Meeting languages as people read them: names, the form's choices, what the room warns of.

Which languages the server can caption comes from the live engine, asked through
:mod:`meetings.extensions` (transcription answers): any object with ``codes`` (ISO 639-1 codes)
and ``detects`` (the engine can detect the language: a meeting's ``auto``).
"""

from __future__ import annotations

from typing import Protocol

from django.conf.locale import LANG_INFO
from django.utils.translation import gettext, gettext_noop

AUTO = "auto"
AUTO_LABEL = gettext_noop("Detect automatically")

#: English names of Whisper's languages that Django's LANG_INFO does not name (translated for
#: people by this project's catalogue; Django's translates its own)
MORE_NAMES = {
    "am": gettext_noop("Amharic"),
    "as": gettext_noop("Assamese"),
    "ba": gettext_noop("Bashkir"),
    "bo": gettext_noop("Tibetan"),
    "fo": gettext_noop("Faroese"),
    "gu": gettext_noop("Gujarati"),
    "ha": gettext_noop("Hausa"),
    "haw": gettext_noop("Hawaiian"),
    "ht": gettext_noop("Haitian Creole"),
    "jw": gettext_noop("Javanese"),
    "la": gettext_noop("Latin"),
    "ln": gettext_noop("Lingala"),
    "lo": gettext_noop("Lao"),
    "mg": gettext_noop("Malagasy"),
    "mi": gettext_noop("Māori"),
    "mt": gettext_noop("Maltese"),
    "oc": gettext_noop("Occitan"),
    "ps": gettext_noop("Pashto"),
    "sa": gettext_noop("Sanskrit"),
    "sd": gettext_noop("Sindhi"),
    "si": gettext_noop("Sinhala"),
    "sn": gettext_noop("Shona"),
    "so": gettext_noop("Somali"),
    "su": gettext_noop("Sundanese"),
    "tl": gettext_noop("Tagalog"),
    "yi": gettext_noop("Yiddish"),
    "yo": gettext_noop("Yoruba"),
    "yue": gettext_noop("Cantonese"),
    "zh": gettext_noop("Chinese"),
}


class Languages(Protocol):
    codes: frozenset[str]
    detects: bool


def name(code: str) -> str:
    """ "Thai", or the code itself for one nobody named."""
    if code == AUTO:
        return AUTO_LABEL
    return MORE_NAMES.get(code) or LANG_INFO.get(code, {}).get("name") or code


def shown_name(code: str) -> str:
    """The name in the interface's language: "Thai" on an English page, "ไทย" on a Thai one.

    `name` stays English: it is what the chat model is told (summaries, translations).
    """
    english = name(code)
    return gettext(english) if english != code else code


def label(code: str) -> str:
    """ "Thai (th)": the name people look for, and the code the API and exports use."""
    return shown_name(code) if code == AUTO else f"{shown_name(code)} ({code})"


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
    english_only = languages.codes == {"en"}
    if code == AUTO and english_only:
        return gettext(
            "This server's speech model transcribes English only, so it cannot detect the "
            "language. Choose the meeting's language."
        )
    if code == AUTO:
        return gettext(
            "This server's speech engine cannot transcribe it, so it cannot detect the "
            "language. Choose the meeting's language."
        )
    if english_only:
        refused = gettext(
            "This server's speech model transcribes English only: captions in %(language)s "
            "need a multilingual model or another engine (see “Meeting languages” in the "
            "operations guide)."
        )
    else:
        refused = gettext(
            "This server's speech engine cannot transcribe it: captions in %(language)s need "
            "a multilingual model or another engine (see “Meeting languages” in the "
            "operations guide)."
        )
    return refused % {"language": label(code)}


def room_warning(code: str, languages: Languages) -> dict[str, str] | None:
    """What the room says of a meeting language the engine cannot caption (a ``headline`` and
    its ``detail``), or None when it can."""
    if can_caption(code, languages):
        return None
    if code == AUTO:
        headline = gettext("Detecting the meeting's language needs another speech model or engine.")
    else:
        headline = gettext("Captions in %(language)s need another speech model or engine.") % {
            "language": label(code)
        }
    if languages.codes == {"en"}:
        detail = gettext(
            "This server's model transcribes English only, so speech here is captioned as English."
        )
    else:
        detail = gettext(
            "This server's speech engine does not know this language; it captions what it can."
        )
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
