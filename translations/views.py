"""Where a transcript's translation for an export is: the status URL of an export's 202."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from meetings.access import get_meeting_for_user

from .jobs import job_json
from .models import TranscriptTranslation


@login_required
@require_GET
def transcript_translation_status(request: HttpRequest, slug: str, language: str) -> JsonResponse:
    """The job's JSON, as the export's 202 gave it: members only, like the export."""
    access = get_meeting_for_user(request.user, slug)
    # checked before any query: PostgreSQL would refuse a NUL in it with an error, not a 404
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise Http404("No such language.")
    job = (
        TranscriptTranslation.objects.filter(meeting=access.meeting, language=language, run__gt=0)
        .select_related("meeting")
        .first()
    )
    if job is None:
        raise Http404("This transcript has not been translated into that language for an export.")
    progress = job_json(job)
    progress["status_url"] = request.build_absolute_uri(progress["status_url"])
    return JsonResponse({"job": progress})
