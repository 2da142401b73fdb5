"""The transcription session's schema: what ``session.update`` may say, and the session it makes.

OpenAI validates a ``session.update`` field by field and refuses it whole, with a code and the
path of the faulty parameter (``invalid_value``, ``unknown_parameter``, ``integer_below_min_value``
and so on): the speech server answers the same way, so clients written against OpenAI see the
errors they expect. The SDK's models accept unknown fields and say nothing of OpenAI's codes,
so they cannot do this; the session object built here is checked against them where it is sent.

Built on :mod:`transcription.engines.openai.protocol`, the protocol the OpenAI engine speaks
too; no Django.
"""

from __future__ import annotations

import copy
from typing import Any

from ..engines.openai.protocol import LOGPROBS, SAMPLE_RATE, STREAMING_MODELS, ProtocolError

# --- checks that raise OpenAI's errors -------------------------------------------------


def quoted(values) -> str:
    """'a', 'b', and 'c' — the way OpenAI lists allowed values."""
    items = [f"'{v}'" for v in values]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def json_type(value: Any) -> str:
    """What a JSON value is, in the words of OpenAI's messages ("an integer", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def expect(value: Any, param: str, expected: str) -> None:
    """Refuse ``value`` (``invalid_type``) unless it is of the ``expected`` JSON type."""
    ok = {
        "an object": isinstance(value, dict),
        "an array": isinstance(value, list),
        "a string": isinstance(value, str),
        "a boolean": isinstance(value, bool),
        "an integer": isinstance(value, int) and not isinstance(value, bool),
        "a decimal": isinstance(value, int | float) and not isinstance(value, bool),
    }[expected]
    if not ok:
        raise ProtocolError(
            "invalid_type",
            f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
            param,
        )


def known_keys(value: dict[str, Any], allowed: set[str], param: str | None) -> None:
    """Refuse the first key not ``allowed`` (``unknown_parameter``)."""
    for key in value:
        if key not in allowed:
            path = f"{param}.{key}" if param else key
            raise ProtocolError("unknown_parameter", f"Unknown parameter: '{path}'.", path)


def choice(value: Any, param: str, choices) -> str:
    """``value``, if it is one of ``choices`` (else ``invalid_value``, listing them)."""
    expect(value, param, "a string")
    if value not in choices:
        raise ProtocolError(
            "invalid_value",
            f"Invalid value: '{value}'. Supported values are: {quoted(choices)}.",
            param,
        )
    return value


def number(value: Any, param: str, low: float, high: float, integer: bool = False):
    """``value``, if it is a number within [low, high] (else OpenAI's min/max error)."""
    kind = "integer" if integer else "decimal"
    expect(value, param, "an integer" if integer else "a decimal")
    if value < low:
        raise ProtocolError(
            f"{kind}_below_min_value",
            f"Invalid '{param}': {kind} below minimum value. Expected a value >= {low:g}, "
            f"but got {value} instead.",
            param,
        )
    if value > high:
        raise ProtocolError(
            f"{kind}_above_max_value",
            f"Invalid '{param}': {kind} above maximum value. Expected a value <= {high:g}, "
            f"but got {value} instead.",
            param,
        )
    return value


def strings(value: Any, param: str) -> list[str]:
    """``value``, if it is an array of strings."""
    expect(value, param, "an array")
    for i, item in enumerate(value):
        expect(item, f"{param}[{i}]", "a string")
    return list(value)


# --- the session ----------------------------------------------------------------------


def default_settings() -> dict[str, Any]:
    """A new session as OpenAI opens it: server VAD on, no transcription configured yet."""
    return {
        "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
        "transcription": None,
        "noise_reduction": None,
        "turn_detection": {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 200,
        },
        "include": None,
    }


def apply_session_update(current: dict[str, Any], session: Any) -> dict[str, Any]:
    """The settings after ``session.update``; raises :class:`ProtocolError`, changing nothing.

    Only the fields present change; ``null`` turns a feature off.
    """
    if session is None:
        raise ProtocolError(
            "missing_required_parameter", "Missing required parameter: 'session'.", "session"
        )
    expect(session, "session", "an object")
    known_keys(session, {"type", "audio", "include"}, "session")
    if "type" not in session:
        raise ProtocolError(
            "missing_required_parameter",
            "Missing required parameter: 'session.type'.",
            "session.type",
        )
    if choice(session["type"], "session.type", ["realtime", "transcription"]) == "realtime":
        raise ProtocolError(
            "invalid_parameter",
            "Passing a realtime session update event to a transcription session is not allowed.",
            "session.type",
        )
    new = copy.deepcopy(current)
    if "audio" in session:
        expect(session["audio"], "session.audio", "an object")
        known_keys(session["audio"], {"input"}, "session.audio")
        if "input" in session["audio"]:
            given = session["audio"]["input"]
            param = "session.audio.input"
            expect(given, param, "an object")
            known_keys(
                given, {"format", "transcription", "noise_reduction", "turn_detection"}, param
            )
            if "format" in given:
                new["format"] = _audio_format(given["format"], f"{param}.format")
            if "noise_reduction" in given:
                new["noise_reduction"] = _noise_reduction(
                    given["noise_reduction"], f"{param}.noise_reduction"
                )
            if "transcription" in given:
                new["transcription"] = _transcription(
                    given["transcription"], f"{param}.transcription"
                )
            if "turn_detection" in given:
                new["turn_detection"] = _turn_detection(
                    given["turn_detection"], f"{param}.turn_detection"
                )
    if "include" in session:
        include = session["include"]
        if include is not None:
            include = strings(include, "session.include")
            for i, value in enumerate(include):
                choice(value, f"session.include[{i}]", [LOGPROBS])
        new["include"] = include
    _check_model(new)
    return new


def _audio_format(value: Any, param: str) -> dict[str, Any]:
    expect(value, param, "an object")
    known_keys(value, {"type", "rate"}, param)
    if "type" not in value:
        raise ProtocolError(
            "missing_required_parameter", f"Missing required parameter: '{param}.type'.", param
        )
    kind = choice(value["type"], f"{param}.type", ["audio/pcm", "audio/pcmu", "audio/pcma"])
    if kind != "audio/pcm":
        return {"type": kind}
    rate = value.get("rate", SAMPLE_RATE)
    return {"type": kind, "rate": number(rate, f"{param}.rate", SAMPLE_RATE, SAMPLE_RATE, True)}


def _noise_reduction(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    expect(value, param, "an object")
    known_keys(value, {"type"}, param)
    return {"type": choice(value.get("type"), f"{param}.type", ["near_field", "far_field"])}


def _transcription(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    expect(value, param, "an object")
    known_keys(value, {"model", "language", "languages", "prompt", "keywords", "delay"}, param)
    result: dict[str, Any] = {"model": None, "language": None, "prompt": None}
    for key in ("model", "language", "prompt"):
        if value.get(key) is not None:
            expect(value[key], f"{param}.{key}", "a string")
            result[key] = value[key] or None
    if value.get("languages") is not None:
        languages = strings(value["languages"], f"{param}.languages")
        if not languages:
            raise ProtocolError(
                "array_below_min_length",
                f"Invalid '{param}.languages': empty array. Expected an array with minimum "
                "length 1, but got an empty array instead.",
                f"{param}.languages",
            )
        if result["language"]:
            raise ProtocolError(
                "invalid_value",
                f"'{param}.language' and '{param}.languages' cannot be combined.",
                f"{param}.languages",
            )
        result["languages"] = languages
    if value.get("keywords") is not None:
        result["keywords"] = strings(value["keywords"], f"{param}.keywords")
    if value.get("delay") is not None:
        result["delay"] = choice(
            value["delay"], f"{param}.delay", ["minimal", "low", "medium", "high", "xhigh"]
        )
    return result


def _turn_detection(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    expect(value, param, "an object")
    kind = choice(value.get("type"), f"{param}.type", ["server_vad", "semantic_vad"])
    responses = {"create_response", "interrupt_response"}
    for key in responses & set(value):
        expect(value[key], f"{param}.{key}", "a boolean")
    if kind == "semantic_vad":
        known_keys(value, {"type", "eagerness"} | responses, param)
        eagerness = value.get("eagerness", "auto")
        choice(eagerness, f"{param}.eagerness", ["low", "medium", "high", "auto"])
        return {"type": kind, "eagerness": eagerness}
    known_keys(
        value,
        {"type", "threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"}
        | responses,
        param,
    )
    result = {
        "type": kind,
        "threshold": number(value.get("threshold", 0.5), f"{param}.threshold", 0, 1),
        "prefix_padding_ms": number(
            value.get("prefix_padding_ms", 300), f"{param}.prefix_padding_ms", 0, 10_000, True
        ),
        "silence_duration_ms": number(
            value.get("silence_duration_ms", 200), f"{param}.silence_duration_ms", 0, 10_000, True
        ),
    }
    if value.get("idle_timeout_ms") is not None:
        result["idle_timeout_ms"] = number(
            value["idle_timeout_ms"], f"{param}.idle_timeout_ms", 5000, 30_000, True
        )
    return result


def _check_model(settings: dict[str, Any]) -> None:
    transcription = settings["transcription"] or {}
    model = transcription.get("model")
    param = "session.audio.input"
    if model in STREAMING_MODELS and settings["turn_detection"] is not None:
        # OpenAI's wording, as clients of its API quote it; the fix is turn_detection: null
        raise ProtocolError(
            "invalid_value",
            "Turn detection is not supported for this transcription model.",
            f"{param}.turn_detection",
        )
    if model == "gpt-realtime-whisper" and transcription.get("prompt"):
        raise ProtocolError(
            "unsupported_parameter",
            f"Unsupported parameter: '{param}.transcription.prompt' is not supported with "
            f"model '{model}'.",
            f"{param}.transcription.prompt",
        )


def session_object(session_id: str, expires_at: int, settings: dict[str, Any]) -> dict[str, Any]:
    """The session as ``session.created`` and ``session.updated`` show it.

    ``delay`` is accepted but, as at OpenAI, not echoed.
    """
    transcription = settings["transcription"]
    if transcription is not None:
        transcription = {k: v for k, v in transcription.items() if k != "delay"}
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": settings["format"],
                "transcription": transcription,
                "noise_reduction": settings["noise_reduction"],
                "turn_detection": settings["turn_detection"],
            }
        },
        "include": settings["include"],
    }
