"""The summary in the transcript's exports: JSON, TXT and DOCX (meetings.queries asks for it
through :mod:`meetings.extensions`, meetings.exports writes it).

SRT and WebVTT carry cues only, so they leave it out, as they leave out bookmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

from meetings.models import Meeting
from meetings.text import one_line

from .models import Summary


@dataclass(frozen=True)
class ExportSummary:
    text: str
    decisions: list[str]
    action_items: list[dict[str, str]]  # {"owner": "" if nobody was named, "task": ...}
    model: str
    transcript: str  # which transcript was summarised
    edited_by: str
    edited_at: str  # ISO 8601, or "" if never edited

    def json_data(self) -> dict:
        return {
            "text": self.text,
            "decisions": self.decisions,
            "action_items": self.action_items,
            "model": self.model,
            "transcript": self.transcript,
            "edited_by": self.edited_by,
            "edited_at": self.edited_at or None,
        }

    def action_rows(self) -> list[str]:
        return [
            f"{item['owner']}: {item['task']}" if item["owner"] else item["task"]
            for item in self.action_items
        ]

    def txt_rows(self) -> list[str]:
        rows = ["Summary", "-------", *self.text.splitlines(), ""]
        if self.decisions:
            rows += ["Decisions", "---------", *(f"- {d}" for d in self.decisions), ""]
        if self.action_items:
            rows += ["Action items", "------------", *(f"- {a}" for a in self.action_rows()), ""]
        return [*rows, "Transcript", "----------", ""]

    def add_to_docx(self, document) -> None:
        document.add_heading("Summary", level=2)
        for paragraph in self.text.splitlines():
            if paragraph.strip():
                document.add_paragraph(paragraph)
        for heading, items in (("Decisions", self.decisions), ("Action items", self.action_rows())):
            if items:
                document.add_heading(heading, level=2)
                for item in items:
                    document.add_paragraph(item, style="List Bullet")
        document.add_heading("Transcript", level=2)


def summary_for_export(meeting: Meeting) -> ExportSummary | None:
    """The meeting's summary as exports write it; None until there is one."""
    summary = Summary.objects.filter(meeting=meeting).select_related("edited_by", "version").first()
    if summary is None or not summary.has_content:
        return None
    return ExportSummary(
        # Text from a model or a host: clean it like every other exported string.
        text="\n".join(one_line(p) for p in summary.text.splitlines() if one_line(p)),
        decisions=[one_line(d) for d in summary.decisions],
        action_items=[
            {"owner": one_line(item.get("owner", "")), "task": one_line(item.get("task", ""))}
            for item in summary.action_items
        ],
        model=summary.model_name,
        transcript=str(summary.version) if summary.version else "Live captions",
        edited_by=summary.edited_by.name if summary.edited_by else "",
        edited_at=summary.edited_at.isoformat() if summary.edited_at else "",
    )
