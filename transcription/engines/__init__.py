"""The engine registry: the one list of engine names, and where each one's classes live.

Engines are plain async Python: no Django, no Channels. Each class takes an explicit config
object in its constructor (the local realtime engine also the process's decode scheduler);
:mod:`transcription.engine_factory` reads the Django settings and builds them. Settings
validation and the job model's choices derive from this list.

Heavy optional imports (faster-whisper, pywhispercpp, websockets) happen only when an engine is
actually loaded, so the site starts without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from .base import EngineUnavailable


@dataclass(frozen=True)
class EngineKind:
    name: str
    label: str
    #: "module:Class" of its realtime engine, if it has one
    realtime: str | None = None
    #: "module:Class" of its batch engine, if it has one
    batch: str | None = None
    #: it spends the operator's money: only users with the permission may choose it
    paid: bool = False


ENGINES = {
    engine.name: engine
    for engine in [
        EngineKind(
            "local",
            "faster-whisper (local)",
            realtime="transcription.engines.local.engine:LocalRealtimeEngine",
            batch="transcription.engines.local.engine:LocalBatchEngine",
        ),
        EngineKind(
            "whispercpp",
            "whisper.cpp",
            batch="transcription.engines.whispercpp.engine:WhisperCppBatchEngine",
        ),
        EngineKind(
            "openai",
            "OpenAI",
            realtime="transcription.engines.openai.realtime:OpenAIRealtimeEngine",
            batch="transcription.engines.openai.batch:OpenAIBatchEngine",
            paid=True,
        ),
        EngineKind(
            "scripted",
            "scripted (no model: each utterance says the next line of a script)",
            realtime="transcription.engines.scripted:ScriptedRealtimeEngine",
        ),
    ]
}

REALTIME_ENGINES = [name for name, engine in ENGINES.items() if engine.realtime]
BATCH_ENGINES = [name for name, engine in ENGINES.items() if engine.batch]
PAID_ENGINES = frozenset(name for name, engine in ENGINES.items() if engine.paid)


def engine_class(name: str, kind: str) -> Any:
    """The class of an engine's ``kind`` ("realtime" or "batch"), imported on first use."""
    engine = ENGINES.get(name)
    path = getattr(engine, kind, None) if engine else None
    if path is None:
        names = REALTIME_ENGINES if kind == "realtime" else BATCH_ENGINES
        choices = ", ".join(names)
        raise EngineUnavailable(f"unknown {kind} engine {name!r} (choose from {choices})")
    module_name, _, class_name = path.partition(":")
    return getattr(import_module(module_name), class_name)
