"""The username django-axes counts failed logins under (``AXES_USERNAME_CALLABLE``).

Axes stores what was typed in a 255-character column before any form checks it: a username of
thousands of characters, or one with a NUL that PostgreSQL refuses, made a login a 500. No
account has such a name, so cutting it to the longest there can be loses nothing.
"""

from __future__ import annotations

from django.conf import settings

from .models import User
from .text import without_controls

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length


def axes_username(request, credentials: dict | None = None) -> str | None:
    """The username the login attempt named, as it could be stored."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    if not isinstance(username, str):
        return username
    return without_controls(username)[:USERNAME_MAX_LENGTH]
