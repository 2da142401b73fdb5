from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from meetings.models import PERSONAL_SLUG_PREFIX, Meeting, Membership, User, is_personal_slug
from meetings.text import validate_one_line


def get_or_create_user(username: str) -> User:
    """The user, created without a usable password if new (scripts and benchmarks)."""
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = "Create a meeting (and any named user that does not exist yet) in one line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True)
        parser.add_argument(
            "--member", action="append", default=[], help="A speaking member; repeat for more."
        )
        parser.add_argument(
            "--listener", action="append", default=[], help="A listening member; repeat for more."
        )
        parser.add_argument("--title", default="")
        parser.add_argument("--language", default="en")

    def handle(self, slug, owner, member, listener, title, language, **options) -> None:
        if slugify(slug) != slug:
            raise CommandError(f"{slug!r} is not a valid slug (letters, digits, hyphens).")
        if is_personal_slug(slug):
            raise CommandError(
                f"Slugs starting with {PERSONAL_SLUG_PREFIX!r} are reserved for personal "
                "transcripts; choose another."
            )
        try:
            validate_one_line(title or slug)
        except ValidationError as exc:
            raise CommandError(f"The title {title!r} cannot be used: {exc.messages[0]}") from None
        if Meeting.objects.filter(slug=slug).exists():
            raise CommandError(f"A meeting with the slug {slug!r} exists already.")
        with transaction.atomic():
            owner_user = get_or_create_user(owner)
            meeting = Meeting.objects.create(
                slug=slug, title=title or slug, owner=owner_user, language=language
            )
            meeting.add_member(owner_user, Membership.Role.HOST)
            for username in member:
                meeting.add_member(get_or_create_user(username), Membership.Role.SPEAKER)
            for username in listener:
                meeting.add_member(get_or_create_user(username), Membership.Role.LISTENER)
        self.stdout.write(f"Created meeting {slug!r} ({meeting.memberships.count()} participants)")
