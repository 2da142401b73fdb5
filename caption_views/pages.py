"""What the room page shows of caption views: the room is the core's page, which renders the
parts registered for its places (:mod:`meetings.extensions`)."""

from __future__ import annotations

from django.template import Context
from django.utils.translation import gettext_lazy as _

from . import options
from .models import CaptionSettings


def settings_panel(context: Context) -> dict:
    """The room's "Caption settings" panel, filled with the person's saved settings."""
    chosen = CaptionSettings.as_dict_for(context["request"].user)
    fields = [
        ("scheme", _("Colours"), options.SCHEMES),
        ("font", _("Font"), options.FONTS),
        ("spacing", _("Line spacing"), options.SPACINGS),
        ("placement", _("Lines sit at the"), options.PLACEMENTS),
        ("lines", _("Lines shown"), options.LINES),
    ]
    return {
        "settings": chosen,
        "fields": [
            {
                "name": name,
                "label": label,
                "choices": [
                    (value, text, value == chosen[name]) for value, text in choices.items()
                ],
            }
            for name, label, choices in fields
        ],
    }
