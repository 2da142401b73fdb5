from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from caption_views import options
from caption_views.models import CaptionSettings

register = template.Library()


@register.inclusion_tag("caption_views/_settings_panel.html", takes_context=True)
def caption_settings_panel(context) -> dict:
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
        "csrf_token": context.get("csrf_token"),
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
