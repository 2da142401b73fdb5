"""``{% summary_section %}``: the Summary section of the transcript page."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import gettext

from meetings.language_model import HOW_TO_ENABLE, chat_endpoint

from ..models import Summary

register = template.Library()


@register.inclusion_tag("summaries/_section.html", takes_context=True)
def summary_section(context) -> dict:
    """Needs ``meeting`` and ``access`` in the page's context (the transcript page has both)."""
    meeting, access = context["meeting"], context["access"]
    summary = Summary.objects.filter(meeting=meeting).select_related("edited_by").first()
    return {
        "meeting": meeting,
        "can_edit": access.can_edit,
        "summary": summary,
        "configured": chat_endpoint() is not None,
        "how_to_enable": gettext(HOW_TO_ENABLE),
        "docs_url": settings.CAPTIONS_DOCS_URL,
        "csrf_token": context.get("csrf_token"),
    }
