"""A fixed cast for tests, and a small factory for the objects they need."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from config.asgi import application
from meetings.models import Meeting, Membership, Segment, User

ORIGIN = b"http://localhost"


class Factory:
    def make_user(self, username: str, **kwargs: Any) -> User:
        kwargs.setdefault("display_name", username.title())
        user = User.objects.create_user(username, password="pw-" + username, **kwargs)
        return user

    def make_meeting(self, owner: User, **kwargs: Any) -> Meeting:
        kwargs.setdefault("title", "Weekly sync")
        kwargs.setdefault("slug", Meeting.unique_slug(kwargs["title"]))
        meeting = Meeting.objects.create(owner=owner, **kwargs)
        meeting.add_member(owner, Membership.Role.HOST)
        return meeting

    def make_segment(self, meeting: Meeting, speaker: User, **kwargs: Any) -> Segment:
        n = Segment.objects.filter(meeting=meeting).count()
        kwargs.setdefault("item_id", f"item-{n}")
        kwargs.setdefault("text", f"Sentence number {n}.")
        kwargs.setdefault("original_text", kwargs["text"])
        kwargs.setdefault("start_ms", n * 2000)
        kwargs.setdefault("end_ms", n * 2000 + 1500)
        kwargs.setdefault("confidence", 0.9)
        return Segment.objects.create(
            meeting=meeting, speaker=speaker, speaker_name=speaker.name, **kwargs
        )


class Cast:
    """alice hosts the meeting, bob speaks in it, dave listens, charlie is an outsider."""

    def __init__(self) -> None:
        self.factory = Factory()
        self.alice = self.factory.make_user("alice")
        self.bob = self.factory.make_user("bob")
        self.charlie = self.factory.make_user("charlie")
        self.dave = self.factory.make_user("dave")
        self.meeting = self.factory.make_meeting(
            self.alice, title="Weekly sync", slug="weekly-sync"
        )
        self.meeting.add_member(self.bob, Membership.Role.SPEAKER)
        self.meeting.add_member(self.dave, Membership.Role.LISTENER)


def session_cookie(user: User) -> bytes:
    """A real logged-in session, as the browser would present it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()


async def communicator(
    path: str,
    user: User | None = None,
    *,
    origin: bytes | None = ORIGIN,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> WebsocketCommunicator:
    """A WebSocket client of the real ASGI application, logged in as `user` by cookie."""
    all_headers = list(headers or [])
    if origin is not None:
        all_headers.append((b"origin", origin))
    if user is not None:
        all_headers.append((b"cookie", await database_sync_to_async(session_cookie)(user)))
    return WebsocketCommunicator(application, path, headers=all_headers)
