"""Engines built from the Django settings: the one place where settings meet the engines.

The engines themselves (:mod:`transcription.engines`) know nothing of Django; each takes an
explicit config object. Instances are cached per process, so their models load once, and so is
the local engine's decode scheduler, which :mod:`transcription.metrics` reads.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from .engines import engine_class
from .engines.base import (
    BatchEngine,
    EngineUnavailable,
    Languages,
    OpenAIConfig,
    RealtimeEngine,
    whisper_languages,
)

if TYPE_CHECKING:
    from .engines.local.models import DecodeSlots

logger = logging.getLogger(__name__)


def engine_config(name: str) -> Any:
    """The config object of the engine called ``name``, from the settings."""
    if name == "local":
        from .engines.local.engine import LocalConfig
        from .engines.local.turns import TurnConfig

        turns = TurnConfig(
            early_ms=settings.LOCAL_TURN_EARLY_MS,
            threshold=settings.LOCAL_TURN_THRESHOLD,
            model_path=settings.LOCAL_TURN_MODEL,
        )
        return LocalConfig(
            model_path=settings.LOCAL_WHISPER_MODEL,
            cache_dir=Path(settings.LOCAL_WHISPER_CACHE_DIR),
            threads=settings.LOCAL_WHISPER_THREADS,
            turns=turns,
        )
    if name == "whispercpp":
        from .engines.whispercpp.engine import WhisperCppConfig

        return WhisperCppConfig(
            model_path=settings.WHISPER_CPP_MODEL,
            cache_dir=Path(settings.WHISPER_CPP_CACHE_DIR),
            threads=settings.WHISPER_CPP_THREADS,
        )
    if name == "openai":
        return OpenAIConfig(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            realtime_endpoint=settings.OPENAI_REALTIME_ENDPOINT,
            realtime_model=settings.OPENAI_REALTIME_MODEL,
            batch_model=settings.OPENAI_BATCH_MODEL,
            realtime_delay=settings.OPENAI_REALTIME_DELAY,
        )
    if name == "scripted":
        from .engines.scripted import ScriptedConfig

        return ScriptedConfig(lines=tuple(settings.SCRIPTED_ENGINE_LINES))
    raise ValueError(f"no settings for engine {name!r}")


@cache
def decode_slots() -> DecodeSlots:
    """The process's local decode scheduler: every local session of this process decodes on
    the same model and cores, so they queue in one place."""
    from .engines.local.models import DecodeSlots

    return DecodeSlots()


@cache
def realtime_engine(name: str) -> RealtimeEngine:
    """The process-wide realtime engine called ``name`` (models are shared)."""
    engine_type = engine_class(name, "realtime")
    if name == "local":
        return engine_type(engine_config(name), decode_slots())
    return engine_type(engine_config(name))


@cache
def batch_engine(name: str) -> BatchEngine:
    """The process-wide batch engine called ``name``."""
    return engine_class(name, "batch")(engine_config(name))


def transcribable_languages() -> Languages:
    """The languages this server's live captions (``TRANSCRIPTION_ENGINE``) can transcribe.

    Cached per process by the engine (the local one asks its model once). An engine that cannot
    load here answers English alone: the pages stay up, and the room says what is wrong when
    someone speaks.
    """
    try:
        return realtime_engine(settings.TRANSCRIPTION_ENGINE).languages()
    except EngineUnavailable:
        logger.warning("the live engine cannot load: offering English alone", exc_info=True)
        return whisper_languages(multilingual=False)
