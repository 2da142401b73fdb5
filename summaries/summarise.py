"""Summarise a transcript with a chat model, in parts when it is longer than the context.

No Django: the job hands in the endpoint, the transcript as lines and a progress callback.
A transcript that fits is asked about at once. A longer one is cut into parts that fit (each
line whole), each part gives notes of the same shape as the final answer, and the notes are
combined, again in groups that fit, until one set is left. An endpoint that still says the
prompt is too long (its tokenizer counts more than our estimate) gets the part in two halves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from chat.client import (
    ChatEndpoint,
    ChatFailed,
    Meter,
    PromptTooLong,
    complete,
    estimated_tokens,
)
from meetings import languages

IN_TRANSCRIPT_LANGUAGE = "Write in the language of the transcript."
SHAPE = (
    'Answer with one JSON object: {"summary": "a few sentences", "decisions": ["a decision", '
    '...], "action_items": [{"owner": "the person who will do it, or empty", "task": "what"}]}. '
    "Use only what the text says; give an owner only when the text names who will do it; use "
    "empty lists when there is nothing. " + IN_TRANSCRIPT_LANGUAGE
)
WHOLE = (
    "You write the minutes of a meeting from its transcript, one line per utterance as "
    "[time] Speaker: text. " + SHAPE
)
PART = (
    "You take notes on one part of a long meeting's transcript, one line per utterance as "
    "[time] Speaker: text. Keep every decision and action item of this part. " + SHAPE
)
COMBINE = (
    "You write the minutes of a meeting from the notes taken on its parts, in order, one JSON "
    "object per part. Merge them: one summary of the whole meeting, every decision and every "
    "action item (with its owner) once. " + SHAPE
)
# Room kept beside the prompt for the message framing that estimated_tokens does not see
FRAMING_TOKENS = 32
MAX_COMBINE_ROUNDS = 8

Progress = Callable[[int, int], None]  # (parts done, parts in all)


@dataclass
class Notes:
    summary: str = ""
    decisions: list[str] = field(default_factory=list)
    action_items: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(
            {
                "summary": self.summary,
                "decisions": self.decisions,
                "action_items": self.action_items,
            },
            ensure_ascii=False,
        )


def answer_tokens(endpoint: ChatEndpoint) -> int:
    """Room left for the model's answer: a quarter of the context, at most 1024 tokens."""
    return max(min(endpoint.context_tokens // 4, 1024), 64)


def text_budget(endpoint: ChatEndpoint, instructions: str) -> int:
    """How many tokens of transcript (or notes) one request may carry."""
    return (
        endpoint.context_tokens
        - answer_tokens(endpoint)
        - estimated_tokens(instructions)
        - FRAMING_TOKENS
    )


def in_language(instructions: str, language: str) -> str:
    """The instructions, saying which language to write in: the meeting's, named (in English,
    which every chat model reads), when it is not English; else the transcript's, which a
    Thai meeting's may not be alone (English words and names in it)."""
    if language in ("", "en", languages.AUTO):
        return instructions
    named = f"Write in {languages.name(language)}, the language of the meeting."
    return instructions.replace(IN_TRANSCRIPT_LANGUAGE, named)


def summarise(
    endpoint: ChatEndpoint,
    lines: list[str],
    progress: Progress,
    meter: Meter | None = None,
    language: str = "",
) -> Notes:
    """The minutes of the transcript ``lines``; raises ChatFailed with a message for people.

    Every request goes through ``meter``, which may refuse it (a budget spent), and asks for
    the minutes in ``language`` (the meeting's code; empty or "auto": the transcript's)."""
    counter = _Counter(progress, meter, language)
    if not lines:
        raise ChatFailed("The transcript is empty: there is nothing to summarise.")
    if _fits(endpoint, WHOLE, lines):
        counter.add(1)
        return _ask_splitting(endpoint, WHOLE, lines, counter)
    notes = [
        _ask_splitting(endpoint, PART, part, counter)
        for part in _parts(endpoint, PART, lines, counter)
    ]
    for _ in range(MAX_COMBINE_ROUNDS):
        if len(notes) == 1:
            return notes[0]
        groups = _parts(endpoint, COMBINE, [n.as_json() for n in notes], counter)
        if len(groups) == len(notes):
            break  # no two sets of notes fit together: combining would go round for ever
        notes = [_ask_splitting(endpoint, COMBINE, group, counter) for group in groups]
    raise ChatFailed(
        f"The notes on this meeting do not fit in the context of {endpoint.model} "
        f"({endpoint.context_tokens} tokens, LLM_CONTEXT_TOKENS): use a model with a longer one."
    )


class _Counter:
    """The parts done and to do, and what every request of this summary goes through: the
    meter, and the meeting's language."""

    def __init__(self, progress: Progress, meter: Meter | None, language: str) -> None:
        self.progress = progress
        self.meter = meter
        self.language = language
        self.done = 0
        self.total = 0

    def add(self, parts: int) -> None:
        self.total += parts
        self.progress(self.done, self.total)

    def finish_one(self) -> None:
        self.done += 1
        self.progress(self.done, self.total)


def _fits(endpoint: ChatEndpoint, instructions: str, lines: list[str]) -> bool:
    return estimated_tokens("\n".join(lines)) <= text_budget(endpoint, instructions)


def _parts(
    endpoint: ChatEndpoint, instructions: str, lines: list[str], counter: _Counter
) -> list[list[str]]:
    """``lines`` in consecutive groups that each fit in one request (counted as work to do)."""
    budget = text_budget(endpoint, instructions)
    if budget < 50:
        raise ChatFailed(
            f"The context of {endpoint.model} ({endpoint.context_tokens} tokens, "
            "LLM_CONTEXT_TOKENS) is too small to summarise with."
        )
    parts: list[list[str]] = [[]]
    used = 0
    for line in _short_lines(lines, budget):
        cost = estimated_tokens(line + "\n")
        if parts[-1] and used + cost > budget:
            parts.append([])
            used = 0
        parts[-1].append(line)
        used += cost
    counter.add(len(parts))
    return parts


def _short_lines(lines: list[str], budget: int) -> list[str]:
    """Lines cut where one alone would not fit (an hour-long monologue without a pause)."""
    width = int(budget * 3.5) - 8
    out = []
    for line in lines:
        out += [line[i : i + width] for i in range(0, len(line), width)] or [""]
    return out


def _ask_splitting(
    endpoint: ChatEndpoint, instructions: str, lines: list[str], counter: _Counter
) -> Notes:
    """Notes on ``lines``; if the endpoint finds them too long, on each half, combined."""
    try:
        notes = _ask(endpoint, in_language(instructions, counter.language), lines, counter.meter)
    except PromptTooLong:
        if len(lines) < 2:
            raise
        half = len(lines) // 2
        counter.add(2)  # two halves and their combining instead of one part
        each = PART if instructions == WHOLE else instructions
        first = _ask_splitting(endpoint, each, lines[:half], counter)
        second = _ask_splitting(endpoint, each, lines[half:], counter)
        return _ask_splitting(endpoint, COMBINE, [first.as_json(), second.as_json()], counter)
    counter.finish_one()
    return notes


def _ask(endpoint: ChatEndpoint, instructions: str, lines: list[str], meter: Meter | None) -> Notes:
    messages = [
        {"role": "system", "content": instructions},
        {"role": "user", "content": "\n".join(lines)},
    ]
    answer = complete(
        endpoint, messages, max_tokens=answer_tokens(endpoint), json_object=True, meter=meter
    )
    return parse_notes(answer)


def parse_notes(answer: str) -> Notes:
    """The model's JSON answer as Notes; ChatFailed if it is not what was asked for."""
    unusable = "The language model gave an answer that"
    # Some local models wrap JSON in a Markdown code fence despite json_object.
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", answer.strip())
    try:
        data = json.loads(text)
    except ValueError:
        raise ChatFailed(f"{unusable} is not JSON, so no summary was written.") from None
    if not isinstance(data, dict) or not isinstance(data.get("summary"), str):
        raise ChatFailed(f"{unusable} has no summary text, so no summary was written.")
    decisions = data.get("decisions") or []
    items = data.get("action_items") or []
    if not isinstance(decisions, list) or not isinstance(items, list):
        raise ChatFailed(f"{unusable} lists decisions or action items wrongly.")
    return Notes(
        summary=data["summary"].strip(),
        decisions=[str(d).strip() for d in decisions if str(d).strip()],
        action_items=[item for item in map(_action_item, items) if item["task"]],
    )


def _action_item(item: object) -> dict[str, str]:
    if isinstance(item, dict):
        owner, task = item.get("owner") or "", item.get("task") or ""
        return {"owner": str(owner).strip(), "task": str(task).strip()}
    return {"owner": "", "task": str(item).strip()}
