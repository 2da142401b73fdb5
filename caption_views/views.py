"""Caption settings saved on the account, caption links managed by hosts, and the view itself."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from meetings.access import get_meeting_for_user
from meetings.text import validate_one_line

from . import actions, options
from .models import CaptionLink, CaptionSettings

#: what a caption link's URL may set (?background=transparent&lines=2…)
VIEW_OPTIONS = {*options.DEFAULTS, "background"}
LABEL_MAX_LENGTH = CaptionLink._meta.get_field("label").max_length
BODY_REFUSED = _("The body must be a JSON object of settings.")


@login_required
@require_POST
def save_settings(request: HttpRequest) -> JsonResponse:
    """Save some of the caption settings (JSON); all saved ones come back."""
    try:
        values = json.loads(request.body or b"")
    except (ValueError, RecursionError):
        # ValueError: not JSON, not UTF-8, or a number of over 4,300 digits (Python refuses
        # to read it); RecursionError: arrays nested deeper than the parser goes
        return JsonResponse({"error": BODY_REFUSED}, status=400)
    if not isinstance(values, dict) or not values:
        return JsonResponse({"error": BODY_REFUSED}, status=400)
    try:
        cleaned = options.clean(values, set(options.DEFAULTS))
    except options.InvalidOption as exc:
        return JsonResponse(
            {
                "error": gettext("Not saved: %(problem)s. Your other settings are unchanged.")
                % {"problem": exc},
                "errors": exc.errors,
            },
            status=400,
        )
    actions.do_save_settings(request.user, cleaned)
    return JsonResponse(CaptionSettings.as_dict_for(request.user))


def label_problem(label: str) -> str | None:
    """Why a caption link's label (optional: blank is fine) cannot be kept, or None."""
    if len(label) > LABEL_MAX_LENGTH:
        return gettext("The label is too long (at most %(most)d characters).") % {
            "most": LABEL_MAX_LENGTH
        }
    try:
        if label:
            validate_one_line(label)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


@login_required
def links(request: HttpRequest, slug: str) -> HttpResponse:
    """A host's list of the meeting's caption links; a POST makes a new one."""
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(gettext("Only hosts can manage caption links."))
    meeting = access.meeting
    new_url = None
    label = ""
    status = 200
    if request.method == "POST":
        label = request.POST.get("label", "").strip()
        if problem := label_problem(label):
            messages.error(request, problem)
            status = 400
        else:
            _link, raw = actions.do_create_link(meeting, request.user, label)
            # shown once: only its hash is kept
            new_url = request.build_absolute_uri(reverse("caption-views-view", args=[raw]))
            label = ""
    ctx = {
        "meeting": meeting,
        "links": CaptionLink.objects.for_meeting(meeting),
        "new_url": new_url,
        "label": label,
        "label_max_length": LABEL_MAX_LENGTH,
        "options": options,
    }
    return render(request, "caption_views/links.html", ctx, status=status)


@login_required
@require_POST
def revoke_link(request: HttpRequest, slug: str, link_id: int) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(gettext("Only hosts can revoke caption links."))
    link = get_object_or_404(CaptionLink, pk=link_id, meeting=access.meeting)
    with transaction.atomic():
        revoked = actions.do_revoke_link(link)
    if revoked:
        messages.success(
            request, gettext("The caption link is revoked: every open view of it closed.")
        )
    return redirect("caption-views-links", access.meeting.slug)


def caption_view(request: HttpRequest, token: str) -> HttpResponse:
    """The caption-only page of a link, for a projector or a streaming overlay; no login."""
    link = CaptionLink.active_for_token(token)
    if link is None:
        return render(request, "caption_views/gone.html", status=404)
    try:
        chosen = options.clean(dict(request.GET.items()), VIEW_OPTIONS)
    except options.InvalidOption as exc:
        ctx = {"errors": exc.errors, "view_path": request.path}
        return render(request, "caption_views/bad_options.html", ctx, status=400)
    view = {**options.DEFAULTS, "background": "default", **chosen}
    ctx = {
        "view": view,
        "ws_path": f"/ws/captions/{token}/",
        # names or titles are not shown: the page may be on a screen anyone can see
        "config": {"lines": view["lines"], "size": view["size"]},
    }
    response = render(request, "caption_views/view.html", ctx)
    # the token is in the URL: no other site learns it from a Referer
    response["Referrer-Policy"] = "no-referrer"
    return response
