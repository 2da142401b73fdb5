"""A deterministic stand-in for a chat model that writes minutes, and a real worker process.

``minutes_model`` answers the summary job's requests the way a model following its prompt
would, computed from what was sent: for transcript lines ("[time] Speaker: text") the first
sentences as the summary, "we decided/agreed ..." as decisions, "I will ..." as the speaker's
action item and "Name, will you ...?" as Name's; for notes on parts (one JSON object a line)
their merge. Nothing is fixed in advance, so a lost part shows in the result.
"""

from __future__ import annotations

import json
import re
from typing import Any

from summaries.summarise import COMBINE

LINE = re.compile(r"^\[[\d:]+\] (?P<speaker>[^:]+): (?P<text>.*)$")
DECISION = re.compile(r"\bwe (?:decided|agreed) (?:to |that )?(?P<what>[^.?!]+)", re.I)
MINE = re.compile(r"\bI will (?P<task>[^.?!]+)")
YOURS = re.compile(r"\b(?P<owner>[A-Z][a-z]+), will you (?P<task>[^.?!]+)")


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!])\s", text.strip(), maxsplit=1)[0]


def minutes_model(body: dict[str, Any]) -> str:
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    if system == COMBINE:
        return json.dumps(merge([json.loads(row) for row in user.splitlines() if row.strip()]))
    utterances = [m.groupdict() for m in map(LINE.match, user.splitlines()) if m]
    decisions, items = [], []
    for said in utterances:
        decisions += [m["what"].strip() for m in DECISION.finditer(said["text"])]
        items += [
            {"owner": said["speaker"], "task": m["task"].strip()}
            for m in MINE.finditer(said["text"])
        ]
        items += [
            {"owner": m["owner"], "task": m["task"].strip()} for m in YOURS.finditer(said["text"])
        ]
    summary = " ".join(f"{u['speaker']} said: {first_sentence(u['text'])}" for u in utterances[:2])
    return json.dumps({"summary": summary, "decisions": decisions, "action_items": items})


def merge(notes: list[dict]) -> dict:
    decisions, items = [], []
    for part in notes:
        decisions += [d for d in part["decisions"] if d not in decisions]
        items += [i for i in part["action_items"] if i not in items]
    summary = " ".join(part["summary"].split(". ")[0] for part in notes)[:300]
    return {"summary": summary, "decisions": decisions, "action_items": items}
