from django.core.management.base import BaseCommand, CommandError

from meetings.models import ApiToken, User


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (shown once; only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="", help="A label for the token, e.g. the client's name."
        )

    def handle(self, username: str, name: str, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user called {username!r}.")
        _token, raw = ApiToken.issue(user, name=name)
        self.stdout.write(raw)
