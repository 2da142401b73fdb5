"""Serve OpenAI's transcription APIs from the local engine: `python manage.py realtime_server`.

Lets the speech engine run on another host; see :mod:`transcription.realtime_server` for what
it serves and how to point the caption servers at it.
"""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transcription.realtime_server import RealtimeServer


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
        asyncio.run(self.serve(host, port, api_key, options["max_session_minutes"] * 60))

    async def serve(self, host: str, port: int, api_key: str, max_seconds: float) -> None:
        server = RealtimeServer(api_key, max_session_seconds=max_seconds)
        await server.start(host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        self.stdout.write(f"Serving OpenAI transcription APIs on http://{host}:{server.port}/v1")
        self.stdout.flush()
        await stop.wait()
        await server.close()
