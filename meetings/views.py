from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from . import actions, exports, languages, queries
from .access import Access, get_meeting_for_user
from .extensions import ExportPending, ExportRefused, extensions
from .forms import (
    CorrectSegmentForm,
    InviteForm,
    MeetingForm,
    ProfileForm,
    RenameSpeakerForm,
    RoleForm,
    SignupForm,
)
from .health import check_health
from .models import (
    Bookmark,
    Meeting,
    Membership,
    Removal,
    Segment,
    TranscriptVersion,
    User,
    new_join_code,
)
from .search import transcript_search
from .text import without_controls

# --- Accounts ---------------------------------------------------------------------------


def next_url(request: HttpRequest) -> str:
    """Where to go after signing up: `next` if it stays on this site, else the meeting list.

    Redirect to it as a URL (HttpResponseRedirect): redirect() would take a `next` without a
    slash for the name of a view, and fail to find one.
    """
    candidate = (request.POST.get("next") or request.GET.get("next") or "").strip()
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("meetings-index")


def signup_rate(group: str, request: HttpRequest) -> str:
    # read on every request, so that tests (and operators) can change it
    return settings.SIGNUP_RATE_LIMIT


# Counted per client address in the shared cache; only posted forms count, not page views.
@ratelimit(group="accounts-signup", key="ip", rate=signup_rate, method="POST", block=False)
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url(request))
    if request.method == "POST" and request.limited:
        return signup_limited(request)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome, %(name)s.") % {"name": user.name})
        return HttpResponseRedirect(next_url(request))
    return render(request, "registration/signup.html", {"form": form})


def signup_limited(request: HttpRequest) -> HttpResponse:
    """429, with the form filled in again as it was (the passwords excepted)."""
    typed = {name: request.POST.get(name, "") for name in ("username", "display_name")}
    ctx = {"form": SignupForm(initial=typed), "limited": True}
    return render(request, "registration/signup.html", ctx, status=429)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        user.watch_words = form.cleaned_data["watch_words"]
        user.display_name = form.cleaned_data["display_name"]
        user.mention_notifications = form.cleaned_data["mention_notifications"]
        user.save(update_fields=["display_name", "watch_words", "mention_notifications"])
        messages.success(request, _("Your profile is saved."))
        return redirect("accounts-profile")
    return render(request, "registration/profile.html", {"form": form})


# --- Meetings ---------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    meetings = Meeting.objects.for_user(request.user).rooms().select_related("owner")
    ctx = {
        "live": meetings.live(),
        "upcoming": meetings.upcoming(),
        "ended": meetings.ended(),
        "now": timezone.now(),
    }
    return render(request, "meetings/index.html", ctx)


@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = MeetingForm(request.POST or None, languages=extensions.languages())
    if request.method == "POST" and form.is_valid():
        meeting = Meeting(owner=request.user)
        meeting.title = form.cleaned_data["title"]
        meeting.language = form.cleaned_data["language"]
        meeting.glossary = form.cleaned_data["glossary"]
        meeting.scheduled_for = form.cleaned_data["scheduled_for"]
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
        # whom the join link keeps out, for the hosts to let back in
        "removals": meeting.removals.select_related("user", "removed_by")
        if access.can_edit
        else [],
        "roles": Membership.Role.choices,
        "invite_form": InviteForm(),
        "join_url": request.build_absolute_uri(
            reverse("meetings-join", args=[meeting.slug, meeting.join_code])
        ),
        "ws_path": f"/ws/meetings/{meeting.slug}/",
        "low_confidence": Segment.LOW_CONFIDENCE,
        "bookmark_note_max_length": Bookmark.NOTE_MAX_LENGTH,
        "language_warning": languages.room_warning(meeting.language, extensions.languages()),
        "docs_url": settings.CAPTIONS_DOCS_URL,
        # read by mentions.js from a JSON script element (the policy allows no inline script)
        "mentions": {
            "words": request.user.mention_words,
            "notify": request.user.mention_notifications,
        },
    }
    return render(request, "meetings/room.html", ctx)


@login_required
def transcript(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    return render_transcript(request, access, request.GET.get("version"))


def render_transcript(
    request: HttpRequest,
    access: Access,
    version_id: str | int | None,
    *,
    pending: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """The transcript page; `pending` brings back a refused correction or rename as typed."""
    meeting = access.meeting
    version = _version_or_404(meeting, version_id)
    compare = _version_or_404(meeting, request.GET.get("compare"))
    segments = list(Segment.objects.of_version(meeting, version))
    compare_segments = list(Segment.objects.of_version(meeting, compare)) if compare else None
    audio = queries.segment_audio(meeting, [*segments, *(compare_segments or [])])
    bookmarks = queries.bookmarks(meeting)
    ctx = {
        "meeting": meeting,
        "access": access,
        "version": version,
        "versions": meeting.versions.all(),
        "segments": segments,
        "compare": compare,
        "compare_segments": compare_segments,
        "segment_audio": audio,
        "bookmarks": bookmarks,
        # played in the transcript shown first (the live one when side by side)
        "bookmark_audio": queries.bookmark_audio(bookmarks, segments, audio),
        "speaker_names": _speaker_names(meeting),
        "talk_times": queries.talk_times(meeting, version),
        "low_confidence": Segment.LOW_CONFIDENCE,
        "export_formats": list(exports.FORMATS),
        "subtitle_formats": ("srt", "vtt"),
        "subtitle_line_length": exports.SUBTITLE_LINE_LENGTH,
        "pending": pending or {},
    }
    return render(request, "meetings/transcript.html", ctx, status=status)


def _version_or_404(meeting: Meeting, version_id: str | int | None) -> TranscriptVersion | None:
    if not version_id:
        return None
    pk = id_from_text(str(version_id))
    if pk is None:
        raise Http404("No such transcript version")
    return get_object_or_404(TranscriptVersion, meeting=meeting, pk=pk)


def id_from_text(text: str) -> int | None:
    """A row id typed in a form or a URL, or None if it cannot be one.

    str.isdigit() alone lets "²" and 5,000-digit numbers through, which int() then refuses.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _speaker_names(meeting: Meeting) -> list[str]:
    names = Segment.objects.filter(meeting=meeting).values_list("speaker_name", flat=True)
    return sorted(set(names))


@login_required
def export_transcript(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if fmt not in exports.FORMATS:
        raise Http404("No such export format")
    version = _version_or_404(access.meeting, request.GET.get("version"))
    translation = request.GET.get("translation", "")
    line_length = request.GET.get("line_length", "")
    if line_length and not (re.fullmatch("[0-9]{2,3}", line_length) and int(line_length) >= 10):
        return HttpResponseBadRequest(_("line_length is a number of characters, from 10 to 999."))
    try:
        body, filename = queries.transcript_export(
            access.meeting,
            version,
            fmt,
            translation,
            refusal=lambda: extensions.translation_refusal(request, access.meeting.pk),
            line_length=int(line_length) if line_length else None,
        )
    except ExportPending as pending:
        return _export_pending(request, access.meeting, pending)
    except ExportRefused as refused:
        return HttpResponse(
            str(refused), status=refused.status, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(body, content_type=exports.FORMATS[fmt].content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


#: how often the page of an export being made asks again
EXPORT_PENDING_REFRESH_SECONDS = 10


def _export_pending(request: HttpRequest, meeting: Meeting, pending: ExportPending) -> HttpResponse:
    """202 while the worker makes what the export needs: the job's JSON for a client that asks
    for JSON, else a page that asks again until the file comes (a download, which leaves it)."""
    job = {**pending.job, "status_url": request.build_absolute_uri(pending.job["status_url"])}
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        return JsonResponse({"job": job, "message": str(pending)}, status=202)
    ctx = {
        "meeting": meeting,
        "message": str(pending),
        "job": job,
        "refresh_seconds": EXPORT_PENDING_REFRESH_SECONDS,
    }
    response = render(request, "meetings/export_pending.html", ctx, status=202)
    response["Refresh"] = str(EXPORT_PENDING_REFRESH_SECONDS)
    return response


@login_required
@require_POST
def correct_segment(request: HttpRequest, slug: str, segment_id: int) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can correct the transcript."))
    segment = get_object_or_404(Segment, meeting=access.meeting, pk=segment_id)
    form = CorrectSegmentForm(request.POST)
    if not form.is_valid():
        # Show the page again with the box open and the text as typed, minus what was refused.
        errors = list(form.errors["text"])
        if form.has_error("text", "control_character"):
            errors.append(_("It is taken out of the text below: check it, then save again."))
        pending = {
            "segment": segment.pk,
            "text": without_controls(request.POST.get("text", "")),
            "errors": errors,
        }
        return render_transcript(request, access, segment.version_id, pending=pending, status=400)
    actions.do_correct_segment(segment, form.cleaned_data["text"], request.user)
    messages.success(request, _("The correction is saved; the original text is kept."))
    return redirect(_transcript_url(access.meeting, segment.version_id) + f"#segment-{segment.pk}")


@login_required
@require_POST
def rename_speaker(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can rename speakers."))
    version_id = id_from_text(request.POST.get("version", ""))
    form = RenameSpeakerForm(request.POST)
    if not form.is_valid():
        pending = {"rename": request.POST.get("new_name", ""), "errors": form.errors}
        return render_transcript(request, access, version_id, pending=pending, status=400)
    old, new = form.cleaned_data["old_name"], form.cleaned_data["new_name"]
    count = actions.do_rename_speaker(access.meeting, old, new)
    messages.success(
        request,
        _("%(old)s is now %(new)s in %(count)d segments.")
        % {"old": old, "new": new, "count": count},
    )
    return redirect(_transcript_url(access.meeting, version_id))


def _transcript_url(meeting: Meeting, version_id) -> str:
    url = reverse("meetings-transcript", args=[meeting.slug])
    return f"{url}?version={version_id}" if version_id else url


@login_required
def search(request: HttpRequest) -> HttpResponse:
    # PostgreSQL takes no NUL in a query; no control character helps a search
    query = without_controls(request.GET.get("q", "")).strip()
    results = transcript_search(request.user, query) if query else []
    return render(request, "meetings/search.html", {"query": query, "results": results})


def role_changed(user: User, membership: Membership) -> str:
    role = membership.get_role_display().lower()
    return _("%(name)s is now a %(role)s.") % {"name": user.name, "role": role}


OWNER_STAYS_HOST = gettext_lazy("The owner of a meeting is always its host and cannot be removed.")


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can invite participants."))
    form = InviteForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
    elif form.cleaned_data["username"].pk == access.meeting.owner_id:
        messages.error(request, OWNER_STAYS_HOST)
    else:
        user = form.cleaned_data["username"]
        # an existing member gets the new role; the action tells their open sockets
        membership = actions.do_set_role(access.meeting, user, form.cleaned_data["role"])
        messages.success(request, role_changed(user, membership))
    return redirect("meetings-room", slug)


def _member_or_404(meeting: Meeting, user_id: int) -> User:
    membership = get_object_or_404(
        Membership.objects.select_related("user"), meeting=meeting, user_id=user_id
    )
    return membership.user


@login_required
@require_POST
def set_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can change roles."))
    user = _member_or_404(access.meeting, user_id)
    form = RoleForm(request.POST)
    if user.pk == access.meeting.owner_id:
        messages.error(request, OWNER_STAYS_HOST)
    elif not form.is_valid():
        messages.error(request, " ".join(form.errors["role"]))
    else:
        membership = actions.do_set_role(access.meeting, user, form.cleaned_data["role"])
        messages.success(request, role_changed(user, membership))
    return redirect("meetings-room", slug)


@login_required
@require_POST
def remove_participant(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can remove participants."))
    user = _member_or_404(access.meeting, user_id)
    if user.pk == access.meeting.owner_id:
        messages.error(request, OWNER_STAYS_HOST)
    else:
        actions.do_remove_member(access.meeting, user, by=request.user)
        messages.success(request, _("%(name)s is no longer a participant.") % {"name": user.name})
    return redirect("meetings-room", slug)


@login_required
@require_POST
def let_back_in(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """Lift a removal: the join link lets the person in again."""
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can let removed participants back in."))
    removal = get_object_or_404(
        Removal.objects.select_related("user"), meeting=access.meeting, user_id=user_id
    )
    actions.do_let_back_in(access.meeting, removal.user)
    messages.success(
        request, _("%(name)s may join again with the join link.") % {"name": removal.user.name}
    )
    return redirect("meetings-room", slug)


@login_required
@require_POST
def rotate_join_code(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_meeting_for_user(request.user, slug)
    if not access.can_edit:
        return HttpResponseForbidden(_("Only hosts can change the join link."))
    access.meeting.join_code = new_join_code()
    access.meeting.save(update_fields=["join_code"])
    messages.success(request, _("The old join link no longer works."))
    return redirect("meetings-room", slug)


@login_required
def join(request: HttpRequest, slug: str, code: str) -> HttpResponse:
    meeting = Meeting.objects.rooms().filter(slug=slug).first()
    # as bytes: compare_digest refuses str with characters outside ASCII
    if meeting is None or not secrets.compare_digest(meeting.join_code.encode(), code.encode()):
        messages.error(
            request, _("This join link is not valid any more. Ask the host for a new one.")
        )
        return redirect("meetings-index")
    if meeting.role_of(request.user) is None:
        # a link shared before someone was removed must not undo the removal
        if Removal.objects.filter(meeting=meeting, user=request.user).exists():
            messages.error(
                request, _("A host removed you from this meeting. Ask a host to let you back in.")
            )
            return redirect("meetings-index")
        meeting.add_member(request.user, Membership.Role.SPEAKER)
        messages.success(request, _("You joined %(title)s.") % {"title": meeting.title})
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
