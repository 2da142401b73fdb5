"""The engine registry: names in settings map to classes loaded on first use.

Heavy optional imports (faster-whisper, pywhispercpp, websockets) happen only
when an engine is actually used, so the site starts without them.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

from .base import BatchEngine, EngineUnavailable, RealtimeEngine

REALTIME_ENGINES = {
    "local": "transcription.engines.local:LocalRealtimeEngine",
    "openai": "transcription.engines.openai_realtime:OpenAIRealtimeEngine",
}

BATCH_ENGINES = {
    "local": "transcription.engines.local:LocalBatchEngine",
    "whispercpp": "transcription.engines.whispercpp:WhisperCppBatchEngine",
    "openai": "transcription.engines.openai_batch:OpenAIBatchEngine",
}


def _load(registry: dict[str, str], name: str) -> Any:
    try:
        path = registry[name]
    except KeyError:
        choices = ", ".join(sorted(registry))
        raise EngineUnavailable(f"unknown engine {name!r} (choose from {choices})") from None
    module_name, _, class_name = path.partition(":")
    return getattr(import_module(module_name), class_name)


@cache
def get_realtime_engine(name: str) -> RealtimeEngine:
    """The process-wide instance of a realtime engine (models are shared)."""
    return _load(REALTIME_ENGINES, name)()


@cache
def get_batch_engine(name: str) -> BatchEngine:
    return _load(BATCH_ENGINES, name)()
