"""What the transcript page shows of the summary: the page is the core's, which renders the
parts registered for its places (:mod:`meetings.extensions`)."""

from __future__ import annotations

from django.conf import settings
from django.template import Context
from django.utils.translation import gettext

from meetings.language_model import HOW_TO_ENABLE, chat_endpoint

from .models import Summary


def summary_section(context: Context) -> dict:
    """The Summary section; needs ``meeting`` and ``access`` in the page's context (the
    transcript page has both)."""
    meeting, access = context["meeting"], context["access"]
    summary = Summary.objects.filter(meeting=meeting).select_related("edited_by").first()
    return {
        "can_edit": access.can_edit,
        "summary": summary,
        "configured": chat_endpoint() is not None,
        "how_to_enable": gettext(HOW_TO_ENABLE),
        "docs_url": settings.CAPTIONS_DOCS_URL,
    }
