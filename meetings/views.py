from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import actions, exports
from .access import get_meeting_for_user
from .forms import (
    CorrectSegmentForm,
    InviteForm,
    MeetingForm,
    ProfileForm,
    RenameSpeakerForm,
    SignupForm,
)
from .health import check_health
from .models import Meeting, Membership, Segment, TranscriptVersion, new_join_code

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
        "low_confidence": Segment.LOW_CONFIDENCE,
    }
    return render(request, "meetings/room.html", ctx)


@login_required
def transcript(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    meeting = access.meeting
    version = _version_or_404(meeting, request.GET.get("version"))
    compare = _version_or_404(meeting, request.GET.get("compare"))
    ctx = {
        "meeting": meeting,
        "access": access,
        "version": version,
        "versions": meeting.versions.all(),
        "segments": _segments(meeting, version),
        "compare": compare,
        "compare_segments": _segments(meeting, compare) if compare else None,
        "speaker_names": _speaker_names(meeting),
        "low_confidence": Segment.LOW_CONFIDENCE,
        "export_formats": list(exports.FORMATS),
        "correct_form": CorrectSegmentForm(),
        "rename_form": RenameSpeakerForm(),
    }
    return render(request, "meetings/transcript.html", ctx)


def _version_or_404(meeting: Meeting, version_id: str | None) -> TranscriptVersion | None:
    if not version_id:
        return None
    if not version_id.isdigit():
        raise Http404("No such transcript version")
    return get_object_or_404(TranscriptVersion, meeting=meeting, pk=version_id)


def _segments(meeting: Meeting, version: TranscriptVersion | None):
    return (
        Segment.objects.filter(meeting=meeting, version=version)
        .order_by("start_ms", "id")
        .select_related("speaker")
    )


def _speaker_names(meeting: Meeting) -> list[str]:
    names = Segment.objects.filter(meeting=meeting).values_list("speaker_name", flat=True)
    return sorted(set(names))


@login_required
def export_transcript(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if fmt not in exports.FORMATS:
        raise Http404("No such export format")
    version = _version_or_404(access.meeting, request.GET.get("version"))
    body, filename = transcript_export(access.meeting, version, fmt)
    response = HttpResponse(body, content_type=exports.FORMATS[fmt].content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def transcript_export(
    meeting: Meeting, version: TranscriptVersion | None, fmt: str
) -> tuple[bytes, str]:
    """One transcript version of a meeting in one format, and its file name."""
    lines = exports.lines_from_segments(_segments(meeting, version))
    suffix = f"-v{version.pk}" if version else ""
    filename = f"{meeting.slug}{suffix}.{exports.FORMATS[fmt].extension}"
    return exports.export(lines, fmt, title=meeting.title), filename


@login_required
@require_POST
def correct_segment(request: HttpRequest, slug: str, segment_id: int) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden("Only hosts can correct the transcript.")
    segment = get_object_or_404(Segment, meeting=access.meeting, pk=segment_id)
    form = CorrectSegmentForm(request.POST)
    if form.is_valid():
        actions.do_correct_segment(segment, form.cleaned_data["text"], request.user)
        messages.success(request, "The correction is saved; the original text is kept.")
    else:
        messages.error(request, "A segment cannot be left empty.")
    return redirect(_transcript_url(access.meeting, segment.version_id) + f"#segment-{segment.pk}")


@login_required
@require_POST
def rename_speaker(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden("Only hosts can rename speakers.")
    form = RenameSpeakerForm(request.POST)
    if form.is_valid():
        old, new = form.cleaned_data["old_name"], form.cleaned_data["new_name"]
        count = actions.do_rename_speaker(access.meeting, old, new)
        messages.success(request, f"{old} is now {new} in {count} segments.")
    else:
        messages.error(request, "Give the speaker a new name.")
    return redirect(_transcript_url(access.meeting, request.POST.get("version") or None))


def _transcript_url(meeting: Meeting, version_id) -> str:
    url = reverse("meetings-transcript", args=[meeting.slug])
    return f"{url}?version={version_id}" if version_id else url


# Markers that cannot occur in speech; the template escapes the text, then turns them into <mark>.
HIGHLIGHT_START, HIGHLIGHT_STOP = "\x02", "\x03"


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = transcript_search(request.user, query) if query else []
    return render(request, "meetings/search.html", {"query": query, "results": results})


def transcript_search(user, query: str, limit: int = 50):
    """The user's meetings' segments that match, best first (Postgres full-text search)."""
    segments = Segment.objects.filter(meeting__in=Meeting.objects.for_user(user)).select_related(
        "meeting", "version"
    )
    if connection.vendor != "postgresql":
        return segments.filter(text__icontains=query).order_by("-meeting__created_at")[:limit]
    vector = SearchVector("text", config="english")
    search_query = SearchQuery(query, config="english", search_type="websearch")
    return (
        segments.annotate(
            document=vector,
            rank=SearchRank(vector, search_query),
            headline=SearchHeadline(
                "text",
                search_query,
                config="english",
                start_sel=HIGHLIGHT_START,
                stop_sel=HIGHLIGHT_STOP,
                highlight_all=True,
            ),
        )
        .filter(document=search_query)
        .order_by("-rank", "-meeting__created_at", "start_ms")[:limit]
    )


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
