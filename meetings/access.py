"""Who may see and do what in a meeting: one helper, used by views and consumers alike."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404

from .models import Meeting, Membership, User


@dataclass(frozen=True)
class Access:
    meeting: Meeting
    role: str

    @property
    def can_speak(self) -> bool:
        return self.role in {Membership.Role.HOST, Membership.Role.SPEAKER}

    @property
    def can_edit(self) -> bool:
        """Hosts correct transcripts, rename speakers and manage members."""
        return self.role == Membership.Role.HOST


def get_meeting_for_user(user: User, slug: str) -> Access:
    """The meeting and the user's role in it.

    Raises Http404 when there is no such meeting and PermissionDenied when the
    user is not one of its participants. Superusers act as hosts of every meeting.
    """
    # The user's membership in the same query: in a storm of a thousand connections each
    # round trip to the database is one more wait on the web process's one database thread.
    membership = Membership.objects.filter(meeting=OuterRef("pk"), user=user.pk)
    meeting = (
        Meeting.objects.select_related("owner")
        .annotate(member_role=Subquery(membership.values("role")[:1]))
        .filter(slug=slug)
        .first()
    )
    if meeting is None:
        raise Http404("No such meeting")
    role = _effective_role(meeting, user, meeting.member_role)
    if role is None:
        raise PermissionDenied("You are not a participant of this meeting")
    return Access(meeting, role)


def role_in(meeting: Meeting, user: User | None) -> str | None:
    """The user's role in the meeting as it is now: None when they have none, or no active
    account. What was derived from someone's rights (a caption link, a job they asked for)
    asks this again when it is used, so it ends with the rights (docs/SECURITY.md)."""
    if user is None:
        return None
    return _effective_role(meeting, user, meeting.role_of(user) if user.is_active else None)


def _effective_role(meeting: Meeting, user: User, member_role: str | None) -> str | None:
    """role_in's answer, given the user's membership role (None: not a member)."""
    if not user.is_active:
        return None
    role = Membership.Role.HOST if user.pk == meeting.owner_id else member_role
    # Not is_staff: staff status only opens the admin, where an operator grants permissions
    # model by model. A superuser can read every transcript in the admin anyway, so hosting
    # any meeting adds nothing to what they may see.
    if role is None and user.is_superuser:
        role = Membership.Role.HOST
    return role


def is_host(meeting: Meeting, user: User | None) -> bool:
    return role_in(meeting, user) == Membership.Role.HOST


def get_personal_transcript(user: User) -> Access:
    """The user's own transcript (``/ws/realtime/transcribe``), where they are host.

    Found by its owner, never by slug; checked again here, so that no room that happens to
    look like it could ever be handed out instead.
    """
    meeting = Meeting.personal_for(user)
    if meeting.kind != Meeting.Kind.PERSONAL or meeting.owner_id != user.pk:
        raise PermissionDenied("not this user's personal transcript")
    return Access(meeting, Membership.Role.HOST)
