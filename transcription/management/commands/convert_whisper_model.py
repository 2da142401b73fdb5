"""`python manage.py convert_whisper_model [--output PATH]`: the bundled Whisper for whisper.cpp.

Without ``--output`` the file goes where the whispercpp engine looks for it
(``WHISPER_CPP_CACHE_DIR``), replacing any earlier conversion. Prints the path it wrote.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transcription.engines.whispercpp.ggml import (
    ConversionError,
    bundled_cache_path,
    bundled_model_dir,
    convert,
)


class Command(BaseCommand):
    help = "Convert the bundled Whisper model (CTranslate2) to a whisper.cpp ggml file."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="the ggml file to write (default: the engine's cache in WHISPER_CPP_CACHE_DIR)",
        )

    def handle(self, *args, output: Path | None, **options) -> None:
        try:
            output = output or bundled_cache_path(settings.WHISPER_CPP_CACHE_DIR)
            path = convert(bundled_model_dir(), output)
        except ConversionError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write the model: {exc}") from None
        self.stdout.write(str(path.resolve()))
