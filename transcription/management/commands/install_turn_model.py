"""`python manage.py install_turn_model`: Smart Turn v3.2, the live engine's end-of-turn model.

Fetches the pinned pipecat-ai wheel with pip (from the package index pip is set up for), checks
its SHA-256 and that of the one file taken out of it, and writes that file to
``LOCAL_TURN_MODEL``. Anything else is refused. Run once per machine (and after changing
``LOCAL_TURN_MODEL``); an installed file with the right checksum is left as it is. Prints the path.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transcription.engines.local.turns import InstallError, install


class Command(BaseCommand):
    help = "Install Smart Turn v3.2 (the live engine's end-of-turn model) from its pinned wheel."

    def handle(self, *args, **options) -> None:
        try:
            path = install(Path(settings.LOCAL_TURN_MODEL))
        except InstallError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write the model: {exc}") from None
        self.stdout.write(str(path.resolve()))
