from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.redaction import LINK_TOKEN_PREFIX
from meetings.access import is_host
from meetings.models import Meeting, User, hash_token

from . import options

#: so a leaked caption-link URL is recognisable in secret scanners, and redacted from logs
LINK_PREFIX = LINK_TOKEN_PREFIX


class CaptionSettings(models.Model):
    """How one person wants captions to look, on every device they log in from."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="caption_settings"
    )
    size = models.FloatField(default=options.DEFAULTS["size"])
    scheme = models.CharField(max_length=20, default=options.DEFAULTS["scheme"])
    font = models.CharField(max_length=20, default=options.DEFAULTS["font"])
    spacing = models.CharField(max_length=20, default=options.DEFAULTS["spacing"])
    placement = models.CharField(max_length=10, default=options.DEFAULTS["placement"])
    #: 0: all lines, with a scroll bar
    lines = models.PositiveSmallIntegerField(default=options.DEFAULTS["lines"])
    updated_at = models.DateTimeField(auto_now=True)

    FIELDS = tuple(options.DEFAULTS)

    class Meta:
        verbose_name_plural = "caption settings"

    def __str__(self) -> str:
        return f"Caption settings of {self.user}"

    @classmethod
    def as_dict_for(cls, user: User) -> dict[str, Any]:
        """The user's settings, the defaults where they chose nothing; `saved`: ever chosen."""
        row = cls.objects.filter(user=user).first()
        if row is None:
            return {**options.DEFAULTS, "saved": False}
        return {**{name: getattr(row, name) for name in cls.FIELDS}, "saved": True}


class CaptionLinkQuerySet(models.QuerySet):
    def active(self) -> CaptionLinkQuerySet:
        return self.filter(revoked_at__isnull=True)

    def for_meeting(self, meeting: Meeting) -> CaptionLinkQuerySet:
        return self.filter(meeting=meeting).select_related("created_by")


class CaptionLink(models.Model):
    """A read-only link to a meeting's live captions, for a projector or a stream overlay.

    Whoever has the URL sees the captions without logging in, until a host revokes it or its
    maker stops being a host; only the token's hash is stored, so the URL is shown once, when
    it is made.
    """

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="caption_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CaptionLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.meeting})"

    @classmethod
    def issue(cls, meeting: Meeting, by: User, label: str = "") -> tuple[CaptionLink, str]:
        """Create a link; the raw token is returned once and never stored."""
        raw = LINK_PREFIX + secrets.token_urlsafe(32)
        link = cls.objects.create(
            meeting=meeting, created_by=by, label=label, prefix=raw[:10], token_hash=hash_token(raw)
        )
        return link, raw

    @classmethod
    def active_for_token(cls, raw: str) -> CaptionLink | None:
        """The link, if it is not revoked and whoever made it may still make one."""
        link = (
            cls.objects.active()
            .select_related("meeting", "created_by")
            .filter(token_hash=hash_token(raw))
            .first()
        )
        return link if link is not None and link.maker_may_share() else None

    def maker_may_share(self) -> bool:
        """Whether the link's maker is still a host of the meeting (and has an account).

        Asked on every page load and socket connect, and by open viewers when the maker's
        rights change: a link lasts no longer than its maker's right to make it.
        """
        return is_host(self.meeting, self.created_by)

    def why_stopped(self) -> str:
        """What ends an open viewer of this link now; "" while it still works."""
        if self.revoked_at is not None:
            return "revoked"
        return "" if self.maker_may_share() else "maker"

    def revoke(self) -> bool:
        """Revoke it; False when it already was."""
        updated = CaptionLink.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        return bool(updated)
