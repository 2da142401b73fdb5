"""How captions may look: the choices, their defaults, and the checks on them.

One place for both the account's settings and the caption link's URL options, so the room
and the caption-only view accept exactly the same values.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

SCHEMES = {
    "default": _("Default (white on black)"),
    "light-on-dark": _("Light on dark"),
    "dark-on-light": _("Dark on light"),
    "high-contrast": _("High contrast (yellow on black)"),
}
FONTS = {
    "system": _("System sans-serif"),
    "serif": _("Serif"),
    "monospace": _("Monospace"),
    "readable": _("Easy to read (Atkinson Hyperlegible, Verdana)"),
}
SPACINGS = {
    "compact": _("Compact"),
    "normal": _("Normal"),
    "relaxed": _("Relaxed"),
    "double": _("Double"),
}
PLACEMENTS = {"bottom": _("Bottom"), "top": _("Top")}
#: 0 is "all": every line kept, with a scroll bar
LINES = {0: _("All (scroll)"), **{n: str(n) for n in range(2, 11)}}
BACKGROUNDS = {"default": _("The scheme's background"), "transparent": _("Transparent")}

MIN_SIZE, MAX_SIZE, SIZE_STEP = 1.0, 3.5, 0.25

DEFAULTS: dict[str, Any] = {
    "size": 1.5,
    "scheme": "default",
    "font": "system",
    "spacing": "normal",
    "placement": "bottom",
    "lines": 0,
}

CHOICES: dict[str, dict] = {
    "scheme": SCHEMES,
    "font": FONTS,
    "spacing": SPACINGS,
    "placement": PLACEMENTS,
    "lines": LINES,
    "background": BACKGROUNDS,
}


class InvalidOption(ValueError):
    """A value that is not one of the choices; the message says which ones are."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def clean(values: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The given options checked and typed; InvalidOption names every bad one.

    Unknown names are refused too: a typo must not pass for a saved setting.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name not in allowed:
            errors[name] = gettext("unknown setting (known: %(known)s)") % {
                "known": ", ".join(sorted(allowed))
            }
            continue
        try:
            cleaned[name] = _clean_one(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidOption(errors)
    return cleaned


def _clean_one(name: str, value: Any) -> Any:
    if name == "size":
        return _clean_size(value)
    choices = CHOICES[name]
    if name == "lines":
        if value == "all":
            return 0
        # "5" from a URL, 5 from JSON; True is an int to Python but no number of lines
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(gettext("must be 2 to 10, or all"))
        try:
            value = int(value)
        except ValueError:
            raise ValueError(gettext("must be 2 to 10, or all")) from None
        if value not in choices:
            raise ValueError(gettext("must be 2 to 10, or all"))
        return value
    # a list or an object is no choice (and is unhashable: no dict lookup with it)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(gettext("must be one of %(choices)s") % {"choices": ", ".join(choices)})
    return value


def _clean_size(value: Any) -> float:
    message = gettext("must be a number of rem from %(low)s to %(high)s") % {
        "low": MIN_SIZE,
        "high": MAX_SIZE,
    }
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        size = float(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(message)
    # to the buttons' steps: nothing in between is offered, so nothing in between is kept
    return round(size / SIZE_STEP) * SIZE_STEP
