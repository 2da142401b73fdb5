"""``python -m transcription.speech_server``: the speech server, without Django.

Every option has an environment variable, with the names the project's settings use.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .server import ServerConfig, serve_forever


def env_number(name: str, default: float) -> float:
    """A number from the environment; a malformed one stops the server with its name."""
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        sys.exit(f"{name} must be a number, not {value!r}")


def parser() -> argparse.ArgumentParser:
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(
        prog="python -m transcription.speech_server",
        description="Serve the OpenAI Realtime transcription WebSocket and "
        "/v1/audio/transcriptions from the local Whisper engine.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("REALTIME_SERVER_API_KEY", ""),
        help="the key clients must send as their OPENAI_API_KEY "
        "(default: $REALTIME_SERVER_API_KEY)",
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("LOCAL_WHISPER_MODEL", ""),
        help="a faster-whisper model directory or multilingual-base (default: "
        "$LOCAL_WHISPER_MODEL, else the bundled tiny.en)",
    )
    parser.add_argument(
        "--model-cache-dir",
        type=Path,
        default=Path(os.environ.get("LOCAL_WHISPER_CACHE_DIR") or "var/models"),
        help="where multilingual-base is assembled (default: $LOCAL_WHISPER_CACHE_DIR, else "
        "var/models)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(env_number("LOCAL_WHISPER_THREADS", cores)),
        help="threads of the batch model (default: $LOCAL_WHISPER_THREADS, else every core)",
    )
    parser.add_argument(
        "--max-upload-seconds",
        type=float,
        default=env_number("UPLOAD_MAX_SECONDS", 4 * 3600),
        help="refuse uploads longer than this (default: $UPLOAD_MAX_SECONDS, else 4 hours)",
    )
    parser.add_argument(
        "--max-session-minutes",
        type=float,
        default=env_number("REALTIME_SERVER_MAX_SESSION_MINUTES", 60.0),
        help="close realtime sessions after this long, as OpenAI does "
        "(default: $REALTIME_SERVER_MAX_SESSION_MINUTES, else 60)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    options = parser().parse_args(argv)
    if not options.api_key:
        sys.exit("set --api-key (or REALTIME_SERVER_API_KEY) for clients to send")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = ServerConfig(
        api_key=options.api_key,
        model_path=options.model,
        model_cache_dir=options.model_cache_dir,
        threads=options.threads,
        max_upload_seconds=options.max_upload_seconds,
        max_session_seconds=options.max_session_minutes * 60,
    )
    asyncio.run(serve_forever(config, options.host, options.port, say))


def say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    main()
