"""Who may see and do what in a meeting: one helper, used by views and consumers alike."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .batched_reads import BatchedReads
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
    found = meetings_for_users([(slug, user)])[(slug, user)]
    if isinstance(found, Exception):
        raise found
    return found


def meetings_for_users(asked: list[tuple[str, User]]) -> dict[tuple[str, User], Access | Exception]:
    """get_meeting_for_user for each (slug, user), or the exception it raises: two queries in
    all, for a storm of connections to one room."""
    slugs = {slug for slug, _ in asked}
    meetings = {m.slug: m for m in Meeting.objects.select_related("owner").filter(slug__in=slugs)}
    roles = {
        (meeting_id, user_id): role
        for meeting_id, user_id, role in Membership.objects.filter(
            meeting__in=meetings.values(), user__in={user.pk for _, user in asked}
        ).values_list("meeting_id", "user_id", "role")
    }
    found: dict[tuple[str, User], Access | Exception] = {}
    for slug, user in asked:
        meeting = meetings.get(slug)
        if meeting is None:
            found[slug, user] = Http404("No such meeting")
            continue
        role = _effective_role(meeting, user, roles.get((meeting.pk, user.pk)))
        if role is None:
            found[slug, user] = PermissionDenied("You are not a participant of this meeting")
        else:
            found[slug, user] = Access(meeting, role)
    return found


#: a storm's access checks, a few queries for all who connect together
_accesses: BatchedReads[tuple[str, User], Access] = BatchedReads(meetings_for_users)


async def aget_meeting_for_user(user: User, slug: str) -> Access:
    """get_meeting_for_user for a connection, asked with the others connecting now."""
    access = await _accesses.get((slug, user))
    # a meeting of its own: a connection keeps on it what it hears (the meeting's end)
    return Access(copy.copy(access.meeting), access.role)


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
