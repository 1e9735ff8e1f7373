"""Forms that plan and log activities: on the deal page (plan the next step, log what happened)
and on lead, contact and company pages (one form: a due date plans it, none logs it done)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from followups.models import Activity
from pipeline_crm.bounds import year_in_range

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PlanActivityForm(forms.Form):
    """The next step: a planned call, meeting, task…"""

    kind = forms.ChoiceField(
        choices=[c for c in Activity.Kind.choices if c[0] != Activity.Kind.NOTE],
        initial=Activity.Kind.CALL,
    )
    subject = forms.CharField(max_length=200, strip=True)
    due_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="Due", validators=[year_in_range]
    )
    remind_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="Remind me", validators=[year_in_range]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        due, remind = data.get("due_at"), data.get("remind_at")
        if due and remind and remind > due + dt.timedelta(days=1):
            self.add_error("remind_at", "The reminder comes after the activity is due.")
        return data


class LogActivityForm(forms.Form):
    """Something that happened: a call, e-mail, meeting or note."""

    kind = forms.ChoiceField(
        choices=[c for c in Activity.Kind.choices if c[0] != Activity.Kind.TASK],
        initial=Activity.Kind.CALL,
    )
    subject = forms.CharField(max_length=200, strip=True)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ActivityForm(forms.Form):
    """Log what happened (no due date) or plan what comes next (with a due date)."""

    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    subject = forms.CharField(max_length=200)
    due_at = forms.DateTimeField(
        label="Due (empty: done now)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[year_in_range],
    )
    body = forms.CharField(
        label="Notes", required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Several forms share a detail page: distinct ids keep every label tied to its input.
        kwargs.setdefault("auto_id", "activity_%s")
        super().__init__(*args, **kwargs)

    def clean_subject(self) -> str:
        subject = (self.cleaned_data.get("subject") or "").strip()
        if not subject:
            raise forms.ValidationError("Give the activity a subject.")
        return subject

    def is_planned(self) -> bool:
        return self.cleaned_data.get("due_at") is not None
