"""Forms that plan and log activities: on the deal page (plan the next step, log what happened)
and on lead, contact and company pages (one form: a due date plans it, none logs it done)."""

from __future__ import annotations

from typing import Any

from django import forms

from followups.models import Activity
from pipeline_crm.bounds import year_in_range

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PlanActivityForm(forms.Form):
    """The next step: a planned call, meeting, task… (a reminder after the due time is refused
    by `followups.services`, for this form and the API alike)."""

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


class LogActivityForm(forms.Form):
    """Something that happened: a call, e-mail, meeting or note."""

    kind = forms.ChoiceField(
        choices=[c for c in Activity.Kind.choices if c[0] != Activity.Kind.TASK],
        initial=Activity.Kind.CALL,
    )
    subject = forms.CharField(max_length=200, strip=True)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    done_at = forms.DateTimeField(
        required=False,
        widget=DATETIME_INPUT,
        label="When (empty: now)",
        validators=[year_in_range],
        help_text="Not in the future.",
    )


class RescheduleForm(forms.Form):
    """A planned activity's new due time (its reminder moves with it)."""

    due_at = forms.DateTimeField(
        widget=DATETIME_INPUT, label="New due time", validators=[year_in_range]
    )


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
