"""The languages listeners may choose (TRANSLATION_LANGUAGES), with their names."""

from __future__ import annotations

from django.conf import settings

from meetings import languages


def offered() -> list[tuple[str, str]]:
    """(code, English name) of each language captions can be translated into, by name."""
    return sorted(
        ((code, languages.name(code)) for code in settings.TRANSLATION_LANGUAGES),
        key=lambda pair: pair[1],
    )


def is_offered(code: str) -> bool:
    return code in settings.TRANSLATION_LANGUAGES
