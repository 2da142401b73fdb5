"""What the room and transcript pages show of translation: the pages are the core's, which
render the parts registered for their places (:mod:`meetings.extensions`)."""

from __future__ import annotations

from django.template import Context
from django.utils.translation import gettext

from meetings.language_model import HOW_TO_ENABLE, chat_endpoint
from meetings.languages import shown_name

from .languages import offered
from .models import Translation


def room_picker(context: Context) -> dict:
    """The room's "Translate captions to…" picker, the same in every room: off when no chat
    endpoint is set up."""
    return {
        "translation": {
            "configured": chat_endpoint() is not None,
            "languages": [(code, shown_name(code)) for code, _name in offered()],
            "how_to_enable": gettext(HOW_TO_ENABLE),
        }
    }


def export_languages(context: Context) -> dict:
    """(code, name) of the languages the meeting has translations in: the transcript page
    offers its exports with each."""
    languages = Translation.objects.languages_of(context["meeting"])
    return {"translation_languages": [(code, shown_name(code)) for code in languages]}
