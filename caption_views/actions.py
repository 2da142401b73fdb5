"""Caption links made and revoked, and the open viewers told once the change commits."""

from __future__ import annotations

from typing import Any

from meetings.actions import send_on_commit
from meetings.models import Meeting, User

from . import events
from .models import CaptionLink, CaptionSettings


def do_save_settings(user: User, values: dict[str, Any]) -> CaptionSettings:
    """Save the (already checked) settings given; the others stay as they were."""
    row, _created = CaptionSettings.objects.get_or_create(user=user)
    for name, value in values.items():
        setattr(row, name, value)
    row.save(update_fields=[*values, "updated_at"])
    return row


def do_create_link(meeting: Meeting, by: User, label: str = "") -> tuple[CaptionLink, str]:
    return CaptionLink.issue(meeting, by, label)


def do_revoke_link(link: CaptionLink) -> bool:
    """Revoke the link and close every viewer that has it open, on every server process."""
    if not link.revoke():
        return False
    send_on_commit(events.link_group(link.pk), {"type": events.LINK_REVOKED})
    return True
