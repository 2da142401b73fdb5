"""`python manage.py transcribe FILE`: the transcript on stdout, progress on stderr.

Scripts and benchmarks call it, so its name, options and output stay stable.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from meetings import exports
from transcription.audio import AudioDecodeError, AudioFile
from transcription.batch.files import transcribe_file
from transcription.batch.jobs import result_lines, transcript_json
from transcription.engine_factory import batch_engine
from transcription.engines import BATCH_ENGINES
from transcription.engines.base import EngineUnavailable

FORMATS = ("txt", "json", "srt", "vtt")


class Command(BaseCommand):
    help = "Transcribe an audio or video file and print the transcript."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="any audio or video file (wav, mp3, m4a, ogg, webm, …)")
        parser.add_argument("--engine", choices=sorted(BATCH_ENGINES), default="local")
        parser.add_argument("--format", choices=FORMATS, default="txt")
        parser.add_argument("--language", default="en", help="ISO code, or 'auto' to detect")
        parser.add_argument("--prompt", default="", help="names and jargon to expect")

    def handle(self, *args, file, engine, format, language, prompt, **options) -> None:
        try:
            with AudioFile(file) as audio:
                declared = audio.declared_seconds
            label = f"{engine} · {declared:.1f} s of audio" if declared else engine
            bar = ProgressBar(self.stderr._out, label)
            started = time.monotonic()
            # a few minutes at a time: a file of any length fits in memory
            transcript, seconds = transcribe_file(
                batch_engine(engine),
                file,
                language=None if language == "auto" else language,
                prompt=prompt,
                progress=bar.update,
            )
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}") from None
        except AudioDecodeError as exc:
            raise CommandError(f"{file}: {exc}") from None
        except EngineUnavailable as exc:
            raise CommandError(str(exc)) from None
        bar.finish(time.monotonic() - started, seconds)

        if format == "txt":
            self.stdout.write(transcript.text)
            return
        if format == "json":
            self.stdout.write(exports.to_json_text(transcript_json(transcript)))
            return
        lines = result_lines(transcript_json(transcript))
        self.stdout.write(exports.export(lines, format).decode(), ending="")


class ProgressBar:
    """A one-line bar on a terminal; plain percentages when stderr is a file or a pipe."""

    WIDTH = 30

    def __init__(self, stream, label: str) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.interactive = self.stream.isatty()
        self.shown = -1

    def update(self, percent: float) -> None:
        whole = int(percent)
        if whole == self.shown or (
            not self.interactive and whole - self.shown < 10 and whole < 100
        ):
            return
        self.shown = whole
        filled = self.WIDTH * whole // 100
        bar = "█" * filled + "·" * (self.WIDTH - filled)
        end = "\r" if self.interactive else "\n"
        self.stream.write(f"{self.label} [{bar}] {whole:3d}%{end}")
        self.stream.flush()

    def finish(self, elapsed: float, seconds: float) -> None:
        self.update(100)
        factor = elapsed / seconds if seconds else 0
        self.stream.write(f"\ndone in {elapsed:.1f} s (real-time factor {factor:.3f})\n")
        self.stream.flush()
