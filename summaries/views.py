"""The summary of a meeting: asking for one, editing it, and its progress while it is written."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from meetings.access import get_meeting_for_user
from meetings.budget import CHAT_TOKENS
from meetings.language_model import HOW_TO_ENABLE, chat_endpoint
from meetings.rates import describe_rate, over_rate_per_user_and_meeting

from .forms import SummaryForm
from .jobs import request_summary
from .models import Summary


def _summary_url(slug: str) -> str:
    return reverse("meetings-transcript", args=[slug]) + "#summary"


@login_required
@require_POST
def ask(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(gettext("Only hosts can ask for a summary."))
    if chat_endpoint() is None:
        messages.error(request, gettext("Summaries are not set up.") + " " + gettext(HOW_TO_ENABLE))
        return redirect(_summary_url(slug))
    if (refusal := _refusal(request, access.meeting.pk)) is not None:
        messages.error(request, refusal)
        return redirect(_summary_url(slug))
    summary = request_summary(access.meeting, request.user)
    if summary.requested_by_id == request.user.pk:
        messages.success(
            request, gettext("The summary is being written; this page shows its progress.")
        )
    else:
        messages.info(
            request, gettext("A summary is already being written; this page shows its progress.")
        )
    return redirect(_summary_url(slug))


def _refusal(request: HttpRequest, meeting_id: int) -> str | None:
    """Why no summary may be asked for now: SUMMARY_RATE_LIMIT, counted per user and per
    meeting (each request has the whole transcript read by the paid model), or the budget."""
    rate = settings.SUMMARY_RATE_LIMIT
    if over_rate_per_user_and_meeting(request, "summaries", rate, meeting_id):
        return f"Summaries can be asked for {describe_rate(rate)}: try again later."
    return CHAT_TOKENS.refusal(meeting_id)


@login_required
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(gettext("Only hosts can edit the summary."))
    summary = get_object_or_404(Summary, meeting=access.meeting)
    if summary.in_progress:
        messages.info(request, gettext("The summary is being written; edit it once it is done."))
        return redirect(_summary_url(slug))
    form = SummaryForm.for_summary(summary)
    if request.method == "POST":
        form = SummaryForm(request.POST, action_items=len(summary.action_items))
        if form.is_valid():
            summary.text = form.cleaned_data["text"].strip()
            summary.decisions = form.cleaned_decisions()
            summary.action_items = form.cleaned_action_items()
            summary.edited_by = request.user
            summary.edited_at = summary.updated_at = timezone.now()
            summary.save(
                update_fields=[
                    *("text", "decisions", "action_items"),
                    *("edited_by", "edited_at", "updated_at"),
                ]
            )
            messages.success(request, gettext("The summary is saved."))
            return redirect(_summary_url(slug))
    ctx = {"meeting": access.meeting, "summary": summary, "form": form}
    return render(request, "summaries/edit.html", ctx, status=400 if form.errors else 200)


@login_required
def status(request: HttpRequest, slug: str) -> JsonResponse:
    """Where the summary job is, for the transcript page to show while it runs."""
    access = get_meeting_for_user(request.user, slug)
    summary = Summary.objects.filter(meeting=access.meeting).first()
    if summary is None:
        return JsonResponse({"status": "none", "parts_done": 0, "parts_total": 0, "error": ""})
    return JsonResponse(summary.status_json())
