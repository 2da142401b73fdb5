from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from meetings.close_codes import for_pages

register = template.Library()


@register.simple_tag
def close_codes() -> SafeString:
    """The server's close codes as the page's JSON, for static/js/close-codes.js."""
    return json_script(for_pages(), "close-codes")
