"""What summaries do when the core tells them something (connected in ``SummariesConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from meetings.models import Meeting
from meetings.signals import meeting_ended

from .jobs import summarise_ended_meeting


@receiver(meeting_ended, dispatch_uid="summaries.summarise_ended_meeting")
def queue_summary(sender: type, meeting: Meeting, **kwargs: Any) -> None:
    summarise_ended_meeting(meeting)  # if an endpoint is configured and something was said
