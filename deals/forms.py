"""Forms of the board, the deal page and the stage settings.

Forms only parse and validate input; every change goes through `deals.services`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from accounts.models import User
from accounts.visibility import assignable_people
from contacts.models import Contact
from deals.models import Deal, LostReason, Pipeline, Stage
from deals.selectors import BoardFilters
from deals.selectors.deal_list import ALL_STATUSES, DealListFilters
from deals.services.editing import EDITABLE_DEAL_FIELDS
from pipeline_crm.ids import parse_id


def money_field(*, required: bool = False) -> forms.DecimalField:
    """An amount as deals store it: up to 12 digits and cents, never negative."""
    return forms.DecimalField(
        required=required, max_digits=14, decimal_places=2, min_value=Decimal("0")
    )


DATE_INPUT = forms.DateInput(attrs={"type": "date"})


# --- board ------------------------------------------------------------------------------------


class BoardFilterForm(forms.Form):
    """The board's filters, read from its URL. Invalid values are reported and ignored."""

    STATUS_CHOICES = [("", "Open and won"), *Deal.Status.choices]

    owner = forms.RegexField(regex=r"^(all|me|team|\d{1,18})$", required=False)
    team = forms.RegexField(regex=r"^\d{1,18}$", required=False)
    q = forms.CharField(required=False, max_length=100, strip=True)
    stalled = forms.BooleanField(required=False)
    close_from = forms.DateField(required=False, widget=DATE_INPUT)
    close_to = forms.DateField(required=False, widget=DATE_INPUT)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("close_from"), data.get("close_to")
        if start and end and start > end:
            self.add_error("close_to", "The end of the range is before its start.")
        return data

    def valid_data(self) -> dict[str, Any]:
        """The fields that are valid (the others are reported and ignored)."""
        self.is_valid()  # fills cleaned_data with the valid fields and errors for the rest
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    @staticmethod
    def board_values(data: dict[str, Any]) -> dict[str, Any]:
        """`BoardFilters` arguments from valid data."""
        return {
            "owner": data.get("owner") or "all",
            "team": parse_id(data.get("team")),
            "q": data.get("q") or "",
            "stalled": bool(data.get("stalled")),
            "close_from": data.get("close_from"),
            "close_to": data.get("close_to"),
            "status": data.get("status") or "",
        }

    def to_filters(self) -> BoardFilters:
        return BoardFilters(**self.board_values(self.valid_data()))


class MoveForm(forms.Form):
    """A drop or a "Move to…" choice: the target stage, the version the user saw, the card above."""

    stage = forms.IntegerField(min_value=1)
    version = forms.IntegerField(min_value=1)
    after = forms.IntegerField(min_value=1, required=False)


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, required=False)


def lost_reason_field(
    *, required: bool, widget: type[forms.Widget]
) -> forms.ModelChoiceField[LostReason]:
    """The active entries of the admins' list of lost reasons, in their order."""
    return forms.ModelChoiceField(
        queryset=LostReason.objects.offered(),
        required=required,
        empty_label=None,
        widget=widget,
        error_messages={
            "required": "Say why the deal was lost.",
            "invalid_choice": "Pick one of the reasons on the list.",
        },
    )


def lost_detail_field() -> forms.CharField:
    return forms.CharField(
        max_length=300,
        strip=True,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Only with “Other”: say what"}),
    )


class LostForm(VersionForm):
    lost_reason = lost_reason_field(required=True, widget=forms.RadioSelect)
    lost_reason_detail = lost_detail_field()


class QuickAddForm(forms.Form):
    """A new deal at the top of a column; the fields its stage requires are asked for too."""

    title = forms.CharField(max_length=200, strip=True)
    amount = money_field()
    company = forms.CharField(
        required=False,
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs={"list": "company-options", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, stage: Stage, user: User, **kwargs: Any):
        kwargs.setdefault("auto_id", f"qa-{stage.pk}-%s")  # one form per column: unique ids
        super().__init__(*args, **kwargs)
        blank = Deal(pipeline_id=stage.pipeline_id, stage=stage)
        for name in stage.required_fields or []:
            if name not in self.fields:
                self.fields[name] = deal_form_field(name, deal=blank, user=user)
            self.fields[name].required = True


# --- deal fields (inline edit, and the "this stage needs…" form) -------------------------------


def deal_form_field(name: str, *, deal: Deal, user: User) -> forms.Field:
    """The form field that edits deal field `name` (company is typed by name: see the views)."""
    if name == "title":
        return forms.CharField(max_length=200, strip=True)
    if name == "amount":
        return money_field()
    if name == "currency":
        return forms.RegexField(
            regex=r"^[A-Za-z]{3}$",
            error_messages={"invalid": "Use a three-letter code such as USD or EUR."},
        )
    if name == "expected_close_date":
        return forms.DateField(required=False, widget=DATE_INPUT)
    if name == "probability_override":
        return forms.IntegerField(
            required=False,
            validators=[MinValueValidator(0), MaxValueValidator(100)],
            help_text="Leave empty to use the stage's probability.",
        )
    if name == "owner":
        return forms.ModelChoiceField(queryset=assignable_people(user), empty_label=None)
    if name == "company":
        return forms.CharField(
            required=False,
            max_length=200,
            strip=True,
            widget=forms.TextInput(attrs={"list": "company-options", "autocomplete": "off"}),
            help_text="An existing company, or a new one by that name.",
        )
    if name == "contact":
        contacts = Contact.objects.visible_to(user).select_related("company")
        if deal.company_id:
            contacts = contacts.filter(company_id=deal.company_id)
        return forms.ModelChoiceField(queryset=contacts, required=False)
    if name == "next_step":
        return forms.CharField(required=False, max_length=300, strip=True)
    raise KeyError(name)


# The deal page edits every editable field but the lead it came from (set by conversion).
INLINE_EDITABLE = tuple(name for name in EDITABLE_DEAL_FIELDS if name != "lead")


class DealFieldsForm(forms.Form):
    """A form for some of a deal's fields, pre-filled with its values."""

    def __init__(self, *args: Any, deal: Deal, user: User, names: Iterable[str], **kwargs: Any):
        kwargs.setdefault("auto_id", "deal-%s")
        super().__init__(*args, **kwargs)
        self.deal = deal
        for name in names:
            field = deal_form_field(name, deal=deal, user=user)
            self.fields[name] = field
            self.initial[name] = _initial_value(deal, name)

    def required_for_stage(self) -> DealFieldsForm:
        """Every field here is needed to enter the stage: none may stay empty."""
        for field in self.fields.values():
            field.required = True
        return self


def _initial_value(deal: Deal, name: str) -> Any:
    if name == "company":
        return deal.company.name if deal.company_id and deal.company else ""
    if name in ("owner", "contact"):
        return getattr(deal, f"{name}_id")
    return getattr(deal, name)


# --- stage settings ------------------------------------------------------------------------------


class PipelineForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)
    is_default = forms.BooleanField(required=False, label="Make it the default pipeline")
    copy_stages = forms.BooleanField(
        required=False, initial=True, label="Start with the default pipeline's stages"
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if Pipeline.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError("A pipeline with this name exists already.")
        return name


class StageForm(forms.Form):
    name = forms.CharField(max_length=80, strip=True)
    kind = forms.ChoiceField(choices=Stage.Kind.choices, initial=Stage.Kind.OPEN)
    probability = forms.IntegerField(
        min_value=0, max_value=100, initial=10, label="Probability (%)"
    )
    stall_days = forms.IntegerField(
        min_value=0,
        max_value=3650,
        required=False,
        label="Stalls after (days)",
        help_text="Empty: deals here never stall.",
    )
    required_fields = forms.MultipleChoiceField(
        choices=[(f, f.replace("_", " ").capitalize()) for f in Stage.REQUIRABLE_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Deals need before entering",
    )
    guidance = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_commit = forms.BooleanField(required=False, label="Counts as commit in the forecast")

    @classmethod
    def for_stage(cls, stage: Stage) -> StageForm:
        initial = {
            "name": stage.name,
            "kind": stage.kind,
            "probability": stage.probability,
            "stall_days": stage.stall_days,
            "required_fields": list(stage.required_fields or []),
            "guidance": stage.guidance,
            "is_commit": stage.is_commit,
        }
        return cls(initial=initial, prefix=f"stage-{stage.pk}")


class StageDeleteForm(forms.Form):
    destination = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False)

    def __init__(self, *args: Any, stage: Stage, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Stage]", self.fields["destination"])
        field.queryset = stage.pipeline.stages.exclude(pk=stage.pk).order_by("order")
        field.empty_label = "Choose a stage…"


class LostReasonForm(forms.Form):
    """An entry of the lost-reason list (a unique name is the service's rule)."""

    name = forms.CharField(max_length=300, strip=True)
    active = forms.BooleanField(required=False, initial=True)
    allows_other = forms.BooleanField(required=False, label="Allows other: asks for free text")

    @classmethod
    def for_reason(cls, reason: LostReason) -> LostReasonForm:
        fields = ("name", "active", "allows_other")
        initial = {name: getattr(reason, name) for name in fields}
        return cls(initial=initial, prefix=f"r-{reason.pk}")


class StageOrderForm(forms.Form):
    """The stage ids in their new order (the drag-and-drop list posts them all)."""

    stage_ids = forms.CharField()

    def clean_stage_ids(self) -> list[int]:
        raw = self.data.getlist("stage_ids") if hasattr(self.data, "getlist") else []
        try:
            return [int(x) for x in raw]
        except ValueError as exc:
            raise forms.ValidationError("Stage ids must be numbers.") from exc


# --- the deals list ------------------------------------------------------------------------------


class DealListFilterForm(BoardFilterForm):
    """The board's filters plus the list's own (pipeline, stage, amount, last activity), read
    from the list's URL. Invalid values are reported and ignored, as on the board."""

    STATUS_CHOICES = [*BoardFilterForm.STATUS_CHOICES, (ALL_STATUSES, "All")]

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    pipeline = forms.IntegerField(required=False, min_value=1)
    stage = forms.IntegerField(required=False, min_value=1)
    amount_min = money_field()
    amount_max = money_field()
    activity_from = forms.DateField(required=False, widget=DATE_INPUT)
    activity_to = forms.DateField(required=False, widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The maximum is below the minimum.")
        start, end = data.get("activity_from"), data.get("activity_to")
        if start and end and start > end:
            self.add_error("activity_to", "The end of the range is before its start.")
        return data

    def to_filters(self) -> DealListFilters:
        data = self.valid_data()
        return DealListFilters(
            **self.board_values(data),
            pipeline=data.get("pipeline"),
            stage=data.get("stage"),
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            activity_from=data.get("activity_from"),
            activity_to=data.get("activity_to"),
        )


class BulkActionForm(forms.Form):
    """A bulk action on the list: on the deals ticked (`ids`), or on every deal matching the
    list's filter (`all_matching`, with the `count` the user was shown)."""

    ACTIONS = [
        ("reassign", "Reassign to…"),
        ("move", "Move to stage…"),
        ("lost", "Mark lost…"),
        ("delete", "Delete"),
    ]

    action = forms.ChoiceField(choices=ACTIONS, error_messages={"required": "Choose an action."})
    all_matching = forms.BooleanField(required=False)
    count = forms.IntegerField(required=False, min_value=0)
    # Any active person: whether the user may give deals to them is the service's rule.
    owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), required=False)
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.select_related("pipeline"), required=False
    )
    lost_reason = lost_reason_field(required=False, widget=forms.Select)
    lost_reason_detail = lost_detail_field()

    NEEDS = {
        "reassign": ("owner", "Choose who gets the deals."),
        "move": ("stage", "Choose the stage to move the deals to."),
        "lost": ("lost_reason", "Say why the deals were lost."),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needed = self.NEEDS.get(data.get("action") or "")
        if needed and not data.get(needed[0]):
            self.add_error(needed[0], needed[1])
        return data

    def selected_ids(self) -> list[int]:
        """The ticked deals' ids (numbers only; at most a page's worth is expected)."""
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        return sorted({pk for pk in map(parse_id, raw) if pk is not None})
