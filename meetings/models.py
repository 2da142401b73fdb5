"""Accounts, meetings and what is said in them."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from . import languages
from .fields import RegConfigField
from .text import validate_one_line, validate_text


class User(AbstractUser):
    display_name = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_one_line],
        help_text="The name other participants see.",
    )

    # None until the person sets the list: then their current name is watched, so a rename
    # is followed. An empty list is a choice too (watch nothing).
    watch_words = models.JSONField(
        null=True,
        blank=True,
        help_text="Words and phrases that highlight a caption in the room (mentions).",
    )
    mention_notifications = models.BooleanField(
        default=False, help_text="Notify in the browser when a watch word is said."
    )
    # Checked against settings.LANGUAGES where it is set, not by choices here: a language added
    # or taken out of the interface needs no migration. Empty: the browser's language.
    language = models.CharField(
        max_length=10, blank=True, help_text="The interface's language, chosen with the switch."
    )

    #: the longest name a segment or recording keeps (their speaker_name)
    NAME_MAX_LENGTH = 100

    @property
    def name(self) -> str:
        """What other participants see."""
        # A username may be 150 characters: uncut, it would not fit a segment's speaker_name
        # and every caption of that speaker would fail to store.
        return (self.display_name or self.get_full_name() or self.username)[: self.NAME_MAX_LENGTH]

    @property
    def mention_words(self) -> list[str]:
        """The words that mention this person: the list they set, or else their name."""
        return list(self.watch_words) if self.watch_words is not None else [self.name]


TOKEN_PREFIX = "mc_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a plain SHA-256 is enough: no salt or
    # slow hash is needed to resist guessing, and lookups stay a single index probe.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A per-user token for non-browser clients; only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=raw[:10], token_hash=hash_token(raw)
        )
        return token, raw

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


def new_join_code() -> str:
    return secrets.token_urlsafe(16)


#: slugs of personal meetings; no room may take one (see Meeting.Meta.constraints)
PERSONAL_SLUG_PREFIX = "personal-"


class MeetingQuerySet(models.QuerySet):
    def for_user(self, user: User) -> MeetingQuerySet:
        """Meetings the user owns or is a member of."""
        return self.filter(models.Q(owner=user) | models.Q(memberships__user=user)).distinct()

    def rooms(self) -> MeetingQuerySet:
        return self.filter(kind=Meeting.Kind.ROOM)

    def live(self) -> MeetingQuerySet:
        """Started and not ended, the latest started first."""
        return self.filter(started_at__isnull=False, ended_at__isnull=True).order_by("-started_at")

    def upcoming(self) -> MeetingQuerySet:
        """Not started, not ended: the scheduled ones soonest first, then the unscheduled ones,
        the newest first."""
        return self.filter(started_at__isnull=True, ended_at__isnull=True).order_by(
            models.F("scheduled_for").asc(nulls_last=True), "-created_at"
        )

    def ended(self) -> MeetingQuerySet:
        """Ended (by a host or by themselves), the latest ended first."""
        return self.filter(ended_at__isnull=False).order_by("-ended_at")

    def idle_since(self, cutoff) -> MeetingQuerySet:
        """Live rooms with no final of the live transcript since ``cutoff`` (nor a start after
        it); annotated with ``last_final_at``, the time the latest final was stored (or None)."""
        last_final = models.Max(
            "segments__created_at", filter=models.Q(segments__version__isnull=True)
        )
        return (
            self.rooms()
            .filter(started_at__isnull=False, ended_at__isnull=True, started_at__lt=cutoff)
            .annotate(last_final_at=last_final)
            .filter(models.Q(last_final_at__isnull=True) | models.Q(last_final_at__lt=cutoff))
        )


class Meeting(models.Model):
    class Kind(models.TextChoices):
        ROOM = "room", _("Meeting room")
        # /ws/realtime/transcribe keeps a user's own captions in their personal meeting
        PERSONAL = "personal", _("Personal transcript")

    title = models.CharField(max_length=200, validators=[validate_one_line])
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROOM)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="owned_meetings"
    )
    language = models.CharField(
        max_length=10, default="en", help_text="ISO 639-1 code, or 'auto' to detect."
    )
    glossary = models.TextField(
        blank=True,
        validators=[validate_text],
        help_text="Names and jargon the speech engine should expect.",
    )
    join_code = models.CharField(max_length=32, default=new_join_code, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    #: when the host means it to start; the clock starts with the first speech whatever it says
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # personal_for() finds a user's transcript by (kind, owner); two would split it.
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(kind="personal"),
                name="one_personal_meeting_per_user",
                violation_error_message="This user has a personal transcript already.",
            ),
            # A room named "Personal 7" once received user 7's personal captions; slugs of
            # that shape stay with personal meetings, whatever code creates the room.
            models.CheckConstraint(
                condition=models.Q(kind="personal")
                | ~models.Q(slug__istartswith=PERSONAL_SLUG_PREFIX),
                name="personal_slugs_only_for_personal_meetings",
                violation_error_message=(
                    f"Slugs starting with “{PERSONAL_SLUG_PREFIX}” are reserved for personal "
                    "transcripts; choose another."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("meetings-room", args=[self.slug])

    @classmethod
    def unique_slug(cls, title: str) -> str:
        """A free slug for a room with this title, never one of the personal namespace."""
        base = slugify(title)[:60] or "meeting"
        if is_personal_slug(base + "-"):  # "personal" too: a suffix would put it in the namespace
            base = f"room-{base}"
        slug = base
        while cls.objects.filter(slug=slug).exists():
            slug = f"{base}-{secrets.token_hex(3)}"
        return slug

    @classmethod
    def personal_for(cls, user: User) -> Meeting:
        """The user's own transcript of /ws/realtime/transcribe, found by owner, not slug.

        The unique constraint makes two first connections at once agree on one meeting:
        get_or_create catches the loser's IntegrityError and fetches the winner's row.
        """
        meeting, _ = cls.objects.get_or_create(
            kind=cls.Kind.PERSONAL,
            owner=user,
            defaults={"title": f"{user.name}'s transcript", "slug": personal_slug(user)},
        )
        return meeting

    def start(self) -> bool:
        """Mark the meeting started (the clock of its segments); True if this call did it."""
        # A conditional UPDATE, so two speakers starting at once agree on one start time.
        now = timezone.now()
        updated = Meeting.objects.filter(pk=self.pk, started_at__isnull=True).update(started_at=now)
        if updated:
            self.started_at = now
        else:
            self.refresh_from_db(fields=["started_at"])
        return bool(updated)

    def end(self) -> bool:
        """Mark the meeting ended; True if this call did it."""
        # Conditional, so a host and the idle sweep ending it at once agree on one end time.
        now = timezone.now()
        updated = Meeting.objects.filter(pk=self.pk, ended_at__isnull=True).update(ended_at=now)
        if updated:
            self.ended_at = now
        else:
            self.refresh_from_db(fields=["ended_at"])
        return bool(updated)

    def reopen(self) -> bool:
        """Let an ended meeting go on (its clock keeps its first start); True if this did it."""
        updated = Meeting.objects.filter(pk=self.pk, ended_at__isnull=False).update(ended_at=None)
        self.ended_at = None
        return bool(updated)

    def ms_since_start(self, moment) -> int:
        if self.started_at is None:
            return 0
        return max(0, int((moment - self.started_at).total_seconds() * 1000))

    def add_member(self, user: User, role: str) -> Membership:
        with transaction.atomic():
            membership, _ = Membership.objects.get_or_create(
                meeting=self, user=user, defaults={"role": role}
            )
        return membership

    def role_of(self, user: User) -> str | None:
        if user.pk == self.owner_id:
            return Membership.Role.HOST
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None


def is_personal_slug(slug: str) -> bool:
    return slug.lower().startswith(PERSONAL_SLUG_PREFIX)


def personal_slug(user: User) -> str:
    slug = f"{PERSONAL_SLUG_PREFIX}{user.pk}"
    # Older data may hold this slug under another owner (the admin used to let owners change).
    while Meeting.objects.filter(slug=slug).exists():
        slug = f"{PERSONAL_SLUG_PREFIX}{user.pk}-{secrets.token_hex(3)}"
    return slug


class Membership(models.Model):
    class Role(models.TextChoices):
        HOST = "host", _("Host")
        SPEAKER = "speaker", _("Speaker")
        LISTENER = "listener", _("Listener")

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.SPEAKER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="one_membership_per_user")
        ]
        ordering = ["joined_at"]

    def __str__(self) -> str:
        return f"{self.user} in {self.meeting} ({self.role})"


class Removal(models.Model):
    """Someone a host took out of a meeting: its join link does not make them a member again.

    Kept until a host lets them back in or invites them again (``meetings.actions``).
    """

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="removals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="one_removal_per_user")
        ]
        ordering = ["-removed_at"]

    def __str__(self) -> str:
        return f"{self.user} removed from {self.meeting}"


class SegmentQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for segment in objs:
            segment.choose_search_config()
        return super().bulk_create(objs, *args, **kwargs)

    def index_for_search(self, meeting: Meeting) -> int:
        """Choose the meeting's segments' search configuration again (its language changed)."""
        count = 0
        for language in self.filter(meeting=meeting).values_list("language", flat=True).distinct():
            config = languages.text_search_config(languages.spoken(meeting.language, language))
            segments = self.filter(meeting=meeting, language=language)
            count += segments.update(search_config=config)
        return count

    def for_meeting(self, meeting: Meeting) -> SegmentQuerySet:
        """The live transcript of a meeting, in spoken order."""
        return self.filter(meeting=meeting, version__isnull=True).order_by("start_ms", "id")

    def of_version(self, meeting: Meeting, version: TranscriptVersion | None) -> SegmentQuerySet:
        """One transcript of a meeting, in spoken order, speakers loaded: the live one
        (``version`` None) or a re-transcription."""
        return (
            self.filter(meeting=meeting, version=version)
            .order_by("start_ms", "id")
            .select_related("speaker")
        )


class Segment(models.Model):
    """One final caption: an utterance of one speaker."""

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="segments")
    # null for the live transcript; batch re-transcriptions are other versions
    version = models.ForeignKey(
        "TranscriptVersion", models.CASCADE, null=True, blank=True, related_name="segments"
    )
    speaker = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="segments"
    )
    speaker_name = models.CharField(max_length=100, blank=True, validators=[validate_one_line])
    original_speaker_name = models.CharField(
        max_length=100, blank=True, help_text="As recorded, before the speaker was renamed."
    )
    item_id = models.CharField(max_length=64)
    text = models.TextField(validators=[validate_text])
    original_text = models.TextField(blank=True, help_text="As transcribed, before corrections.")
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    avg_logprob = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=10, blank=True)
    #: how its text is indexed for search: its language's stemmer (meetings/search.py)
    search_config = RegConfigField(max_length=63, null=True, blank=True, editable=False)
    engine = models.CharField(max_length=20, blank=True)
    #: [[word, start_ms, end_ms, probability], ...] where the engine gives them (batch)
    words = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SegmentQuerySet.as_manager()

    class Meta:
        constraints = [
            # An upstream replay must never store an utterance twice.
            models.UniqueConstraint(fields=["meeting", "item_id"], name="one_segment_per_item")
        ]
        indexes = [models.Index(fields=["meeting", "version", "start_ms"])]
        ordering = ["start_ms", "id"]

    def __str__(self) -> str:
        return f"{self.speaker_name}: {self.text[:50]}"

    def save(self, *args, **kwargs) -> None:
        self.choose_search_config()
        super().save(*args, **kwargs)

    def choose_search_config(self) -> None:
        """Index the text in its language's configuration, unless one was chosen already."""
        if self.search_config is None:
            spoken = languages.spoken(self.meeting.language, self.language)
            self.search_config = languages.text_search_config(spoken)

    LOW_CONFIDENCE = 0.6

    @property
    def is_low_confidence(self) -> bool:
        return self.confidence is not None and self.confidence < self.LOW_CONFIDENCE

    @property
    def was_corrected(self) -> bool:
        return bool(self.original_text) and self.original_text != self.text


class TranscriptVersion(models.Model):
    """A re-transcription of a meeting or an upload, kept beside the live transcript."""

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="versions")
    engine = models.CharField(max_length=20)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"{self.engine} transcript of {self.meeting}"


def recording_path(recording: Recording, filename: str) -> str:
    return f"recordings/{recording.meeting.slug}/{uuid.uuid4().hex}.wav"


class Recording(models.Model):
    """One speaker's raw audio for one live session, kept for re-transcription.

    ``offset_ms`` places the recording on the meeting's clock.
    """

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="recordings")
    speaker = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    speaker_name = models.CharField(max_length=100, blank=True)
    file = models.FileField(upload_to=recording_path)
    sample_rate = models.PositiveIntegerField(default=16000)
    offset_ms = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["offset_ms", "id"]

    def __str__(self) -> str:
        return f"{self.speaker_name} in {self.meeting} at {self.offset_ms} ms"


class Bookmark(models.Model):
    """A moment someone in the room marked, on the meeting's clock, with an optional note."""

    NOTE_MAX_LENGTH = 200

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="bookmarks")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="bookmarks"
    )
    # as written then: a renamed or deleted account does not rewrite who marked what
    author_name = models.CharField(max_length=100, blank=True)
    at_ms = models.PositiveIntegerField()
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True, validators=[validate_one_line])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at_ms", "id"]

    def __str__(self) -> str:
        return f"{self.author_name} at {self.at_ms} ms in {self.meeting}"
