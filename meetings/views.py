from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .access import get_meeting_for_user
from .forms import InviteForm, MeetingForm, ProfileForm, SignupForm
from .health import check_health
from .models import Meeting, Membership, Segment, new_join_code

# --- Accounts ---------------------------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("meetings-index")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.name}.")
        return redirect(request.GET.get("next") or "meetings-index")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        request.user.display_name = form.cleaned_data["display_name"]
        request.user.save(update_fields=["display_name"])
        messages.success(request, "Your display name is saved.")
        return redirect("accounts-profile")
    return render(request, "registration/profile.html", {"form": form})


# --- Meetings ---------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    meetings = Meeting.objects.for_user(request.user).rooms().select_related("owner")
    return render(request, "meetings/index.html", {"meetings": meetings})


@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        meeting = Meeting(owner=request.user)
        meeting.title = form.cleaned_data["title"]
        meeting.language = form.cleaned_data["language"]
        meeting.glossary = form.cleaned_data["glossary"]
        meeting.slug = Meeting.unique_slug(meeting.title)
        meeting.save()
        meeting.add_member(request.user, Membership.Role.HOST)
        return redirect("meetings-room", meeting.slug)
    return render(request, "meetings/create.html", {"form": form})


@login_required
def room(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    meeting = access.meeting
    ctx = {
        "meeting": meeting,
        "access": access,
        "members": meeting.memberships.select_related("user"),
        "invite_form": InviteForm(),
        "join_url": request.build_absolute_uri(
            reverse("meetings-join", args=[meeting.slug, meeting.join_code])
        ),
        "ws_path": f"/ws/meetings/{meeting.slug}/",
    }
    return render(request, "meetings/room.html", ctx)


@login_required
def transcript(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    segments = Segment.objects.for_meeting(access.meeting).select_related("speaker")
    ctx = {
        "meeting": access.meeting,
        "access": access,
        "segments": segments,
        "low_confidence": Segment.LOW_CONFIDENCE,
    }
    return render(request, "meetings/transcript.html", ctx)


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden("Only hosts can invite participants.")
    form = InviteForm(request.POST)
    if form.is_valid():
        user = form.cleaned_data["username"]
        access.meeting.add_member(user, form.cleaned_data["role"])
        messages.success(request, f"{user.name} is now a participant.")
    else:
        for error in form.errors.values():
            messages.error(request, " ".join(error))
    return redirect("meetings-room", slug)


@login_required
@require_POST
def rotate_join_code(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden("Only hosts can change the join link.")
    access.meeting.join_code = new_join_code()
    access.meeting.save(update_fields=["join_code"])
    messages.success(request, "The old join link no longer works.")
    return redirect("meetings-room", slug)


@login_required
def join(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    meeting = Meeting.objects.rooms().filter(slug=slug).first()
    if meeting is None or not secrets.compare_digest(meeting.join_code, code):
        messages.error(request, "This join link is not valid any more. Ask the host for a new one.")
        return redirect("meetings-index")
    if meeting.role_of(request.user) is None:
        meeting.add_member(request.user, Membership.Role.SPEAKER)
        messages.success(request, f"You joined {meeting.title}.")
    return redirect("meetings-room", slug)


# --- Operations -------------------------------------------------------------------------


def healthz(request: HttpRequest) -> JsonResponse:
    report = check_health()
    status = 200 if report["status"] == "ok" else 503
    if not settings.DEBUG and not request.user.is_staff:
        # Error details may name hosts and ports; only staff see them in production.
        for part in ("database", "channel_layer"):
            report[part].pop("error", None)
    return JsonResponse(report, status=status)
