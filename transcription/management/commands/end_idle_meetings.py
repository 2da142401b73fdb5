"""End the meetings nobody is in any more: `python manage.py end_idle_meetings`.

`transcription_worker` does this every minute; the command is the same sweep, once (for cron,
or a deployment that runs no worker).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from transcription.live.idle import end_idle_meetings


class Command(BaseCommand):
    help = "End started meetings that nobody has been in or spoken in for MEETING_IDLE_END_MINUTES."

    def handle(self, *args, **options) -> None:
        for meeting in end_idle_meetings():
            self.stdout.write(f"Meeting {meeting.slug} ended: nobody in it for a while.")
