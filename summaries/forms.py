"""The host's edit of a summary: its text, its decisions (one a line) and its action items."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from meetings.text import LINE_BREAKS, validate_one_line, validate_text

#: empty rows offered below the action items, to add new ones
NEW_ROWS = 2


class SummaryForm(forms.Form):
    text = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20_000,
        required=False,
        validators=[validate_text],
    )
    decisions = forms.CharField(
        label=_("Decisions"),
        help_text=_("One decision a line."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=20_000,
        required=False,
        validators=[validate_text],
    )

    def __init__(self, *args, action_items: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = action_items + NEW_ROWS
        for n in range(1, self.rows + 1):
            self.fields[f"owner_{n}"] = forms.CharField(
                label=gettext("Owner of action item %(n)d") % {"n": n},
                max_length=100,
                required=False,
                validators=[validate_one_line],
            )
            self.fields[f"task_{n}"] = forms.CharField(
                label=gettext("Action item %(n)d") % {"n": n},
                max_length=1000,
                required=False,
                validators=[validate_one_line],
            )

    @classmethod
    def for_summary(cls, summary) -> SummaryForm:
        initial = {"text": summary.text, "decisions": "\n".join(summary.decisions)}
        for n, item in enumerate(summary.action_items, start=1):
            initial[f"owner_{n}"] = item.get("owner", "")
            initial[f"task_{n}"] = item.get("task", "")
        return cls(initial=initial, action_items=len(summary.action_items))

    def action_item_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"owner_{n}"], self[f"task_{n}"]) for n in range(1, self.rows + 1)]

    def cleaned_decisions(self) -> list[str]:
        return [d.strip() for d in LINE_BREAKS.split(self.cleaned_data["decisions"]) if d.strip()]

    def cleaned_action_items(self) -> list[dict[str, str]]:
        """The rows with a task; a row whose task was emptied is taken out."""
        items = []
        for n in range(1, self.rows + 1):
            task = self.cleaned_data[f"task_{n}"]
            if task:
                items.append({"owner": self.cleaned_data[f"owner_{n}"], "task": task})
        return items
