"""Serve OpenAI's transcription APIs from the local engine: `python manage.py realtime_server`.

A thin wrapper over :mod:`transcription.speech_server` (which runs without Django as
``python -m transcription.speech_server``) that hands it the Django settings: the key, the
local model and its threads, and the upload limit.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transcription.engine_factory import engine_config
from transcription.speech_server import ServerConfig, serve_forever


class Command(BaseCommand):
    help = (
        "Serve the OpenAI Realtime transcription WebSocket and /v1/audio/transcriptions "
        "from the local Whisper engine."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--api-key",
            default=settings.REALTIME_SERVER_API_KEY,
            help="the key clients must send as their OPENAI_API_KEY "
            "(default: $REALTIME_SERVER_API_KEY)",
        )
        parser.add_argument(
            "--max-session-minutes",
            type=float,
            default=60.0,
            help="close realtime sessions after this long, as OpenAI does",
        )

    def handle(self, *args, host: str, port: int, api_key: str, **options) -> None:
        if not api_key:
            raise CommandError("set --api-key (or REALTIME_SERVER_API_KEY) for clients to send")
        local = engine_config("local")
        config = ServerConfig(
            api_key=api_key,
            model_path=local.model_path,
            model_cache_dir=local.cache_dir,
            threads=local.threads,
            max_upload_seconds=settings.UPLOAD_MAX_SECONDS,
            max_session_seconds=options["max_session_minutes"] * 60,
        )
        asyncio.run(serve_forever(config, host, port, self.say))

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
