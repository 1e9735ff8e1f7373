"""Forms for the leads, contacts and companies pages.

Forms only validate and clean input; saving goes through `contacts.services` (and
`followups.services.log_activity`), so the pages obey the same rules as the API.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.validators import MinValueValidator
from django.urls import reverse_lazy

from accounts.models import User
from accounts.visibility import assignable_people, is_admin, readable_people
from contacts.models import Company, Contact, Lead
from deals.models import Deal, Pipeline
from followups.forms import ActivityForm
from people.selectors import LEAD_SORTS
from people.services import NO_DEAL, DealChoice
from pipeline_crm.ids import parse_id


# Django's form classes take no type argument at run time (the stubs' generics are type-only).
class OwnerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class OwnedRecordForm(forms.ModelForm):  # type: ignore[type-arg]
    """Base for records with an owner: the owner list holds only people the user may assign."""

    owner = OwnerChoiceField(queryset=User.objects.none(), required=False, empty_label=None)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        owner_field = cast("forms.ModelChoiceField[User]", self.fields["owner"])
        owner_field.queryset = assignable_people(user)
        if not self.instance.pk:
            owner_field.initial = user.pk
        if not is_admin(user) and not user.managed_teams.exists():
            # Managing no team, they can give records only to themselves: a one-option select
            # is noise. A forged value still gets its error (shown above the form).
            owner_field.widget = forms.HiddenInput()

    def clean_owner(self) -> User:
        # A record never loses its owner: an empty choice keeps the current one (or the author).
        return self.cleaned_data.get("owner") or getattr(self.instance, "owner", None) or self.user

    def changes(self) -> dict[str, Any]:
        """The cleaned values of the model fields, for create_record / update_record."""
        return {name: self.cleaned_data[name] for name in self._meta.fields or ()}


class LeadForm(OwnedRecordForm):
    class Meta:
        model = Lead
        fields = [
            "first_name",
            "last_name",
            "company_name",
            "email",
            "phone",
            "source",
            "status",
            "need",
            "budget",
            "authority",
            "timeline",
            "owner",
        ]
        labels = {
            "company_name": "Company",
            "email": "E-mail",
            "need": "Need (what problem do they want solved?)",
            "authority": "Talking to the decision maker",
            "timeline": "Wants to decide by",
        }
        widgets = {
            "need": forms.Textarea(attrs={"rows": 3}),
            "timeline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "budget": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Disqualifying needs a reason, so it happens through its own form, not this select.
        already_out = self.instance.status == Lead.Status.DISQUALIFIED
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (value, label)
            for value, label in Lead.Status.choices
            if value != Lead.Status.DISQUALIFIED or already_out
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not any(
            (cleaned.get(name) or "").strip()
            for name in ("first_name", "last_name", "company_name", "email")
        ):
            raise forms.ValidationError("Give at least a name, a company or an e-mail address.")
        return cleaned

    def changes(self) -> dict[str, Any]:
        changes = super().changes()
        if changes.get("status") != Lead.Status.DISQUALIFIED:
            changes["disqualified_reason"] = ""
        return changes


class ContactForm(OwnedRecordForm):
    company_name = forms.CharField(
        label="Company",
        required=False,
        max_length=200,
        help_text="Pick an existing company or type a new name to create it.",
        widget=forms.TextInput(
            attrs={
                "list": "company-options",
                "autocomplete": "off",
                # Suggest existing companies as the user types (people/_company_options.html).
                "hx-get": reverse_lazy("company-options"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#company-options",
                "hx-swap": "innerHTML",
            }
        ),
    )

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "phone", "title", "owner"]
        labels = {"email": "E-mail", "title": "Job title"}

    field_order = ["first_name", "last_name", "email", "phone", "title", "company_name", "owner"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.company_id and not self.is_bound:
            self.fields["company_name"].initial = self.instance.company.name

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip()
        if not email:
            return ""
        clash = Contact.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).first()
        if clash:
            raise forms.ValidationError(
                f"{clash} already uses this e-mail address (e-mail addresses are unique, "
                "whatever their capitals)."
            )
        return email

    def clean_company_name(self) -> str:
        return " ".join((self.cleaned_data.get("company_name") or "").split())


_DOMAIN_RE = re.compile(r"^(?=.{1,200}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")


def normalise_domain(value: str) -> str:
    """'https://www.Acme.com/about' → 'acme.com': people paste URLs, dedupe needs the host."""
    value = (value or "").strip().lower()
    value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0].split("?", 1)[0]
    value = value.rpartition("@")[2]
    return value.removeprefix("www.")


class CompanyForm(OwnedRecordForm):
    class Meta:
        model = Company
        fields = ["name", "domain", "industry", "size", "owner"]
        help_texts = {"domain": "Web domain such as acme.com; leads with that e-mail domain match."}
        error_messages = {"name": {"required": "Give the company a name."}}

    def clean_name(self) -> str:
        name = " ".join((self.cleaned_data.get("name") or "").split())
        if not name:
            raise forms.ValidationError("Give the company a name.")
        return name

    def clean_domain(self) -> str:
        domain = normalise_domain(self.cleaned_data.get("domain") or "")
        if not domain:
            return ""
        if not _DOMAIN_RE.match(domain):
            raise forms.ValidationError("Enter a domain such as acme.com.")
        clash = Company.objects.filter(domain__iexact=domain).exclude(pk=self.instance.pk).first()
        if clash:
            raise forms.ValidationError(f"{clash} already has the domain {domain}.")
        return domain


class ConvertForm(forms.Form):
    title = forms.CharField(
        label="Deal title", required=False, max_length=200, help_text="Defaults to the company."
    )
    amount = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Defaults to the lead's budget.",
    )
    pipeline = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "convert_%s")
        super().__init__(*args, **kwargs)
        # One query for the choices, the default and the cleaned value alike.
        self.pipelines: dict[int, Pipeline] = {p.pk: p for p in Pipeline.objects.all()}
        cast(forms.ChoiceField, self.fields["pipeline"]).choices = [
            (pk, p.name) for pk, p in self.pipelines.items()
        ]
        default = next((p for p in self.pipelines.values() if p.is_default), None)
        self.fields["pipeline"].initial = default.pk if default else None

    def clean_pipeline(self) -> Pipeline | None:
        """None lets convert_lead use the default pipeline."""
        chosen = self.cleaned_data.get("pipeline")
        return self.pipelines.get(chosen) if chosen is not None else None


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. no budget this year"}),
        error_messages={"required": "Say why the lead is disqualified."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "disqualify_%s")
        super().__init__(*args, **kwargs)


# --- list filters: bad values are ignored, never a 500 -------------------------------------------


class ListFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def is_filtered(self) -> bool:
        """True when the list is narrowed (sorting alone does not hide anything)."""
        return any(name != "sort" for name in self.values())

    def values(self) -> dict[str, Any]:
        """The valid filters only: a hand-edited URL with a bad value just drops that filter."""
        self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value not in (None, "") and name != "page"
        }

    def criteria(self) -> dict[str, Any]:
        """The valid filters as the list's selector takes them (keyword arguments)."""
        return self.values()

    def choice_fields(self) -> list[forms.BoundField]:
        """The selects shown beside the search box (all but the search and the page)."""
        return [self[name] for name in self.fields if name not in ("q", "page")]

    def offers_filters(self) -> bool:
        """More than a search and a sort order: the page speaks of "filters"."""
        return any(name not in ("q", "page", "sort") for name in self.fields)


LEAD_SORT_LABELS = {
    "-score": "Score (highest first)",
    "score": "Score (lowest first)",
    "-created": "Newest",
    "name": "Name",
    "company": "Company",
}


class LeadFilterForm(ListFilterForm):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Lead.Status.choices])
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *Lead.Source.choices])
    owner = forms.ChoiceField(required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(key, LEAD_SORT_LABELS[key]) for key in LEAD_SORTS]
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.owner_list = list(readable_people(user))
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            ("", "Anyone"),
            ("me", "Me"),
            *((str(u.pk), u.get_full_name() or u.username) for u in self.owner_list),
        ]

    def owner_user(self) -> User | None:
        chosen = self.values().get("owner")
        if chosen == "me":
            return self.user
        return next((u for u in self.owner_list if str(u.pk) == chosen), None)

    def criteria(self) -> dict[str, Any]:
        return {**self.values(), "owner": self.owner_user()}


class ContactFilterForm(ListFilterForm):
    sort = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("company", "Company"), ("-created", "Newest")],
    )


class CompanyFilterForm(ListFilterForm):
    sort = forms.ChoiceField(required=False, choices=[("name", "Name"), ("-created", "Newest")])


class RecordActivityForm(ActivityForm):
    """The activity form of a lead, contact or company page. With several open deals to log on
    (`deals`), it asks which one (or none); `people.services.log_on_record` decides, this form
    only reads the answer: "" (not answered), "none", or a deal id."""

    deal = forms.CharField(
        required=False, label="About which deal?", widget=forms.Select, max_length=20
    )

    def __init__(self, *args: Any, deals: Sequence[Deal] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deals = list(deals)
        if len(self.deals) > 1:
            cast(forms.Select, self.fields["deal"].widget).choices = [
                ("", "Choose…"),
                *((str(deal.pk), deal.title) for deal in self.deals),
                (NO_DEAL, "No deal"),
            ]
        else:  # none to choose from: one is linked by itself
            del self.fields["deal"]

    def deal_choice(self) -> DealChoice:
        raw = (self.cleaned_data.get("deal") or "").strip()
        if raw == NO_DEAL:
            return NO_DEAL
        return parse_id(raw)

    def clean_deal(self) -> str:
        raw = (self.cleaned_data.get("deal") or "").strip()
        if raw and raw != NO_DEAL and parse_id(raw) is None:
            raise forms.ValidationError("Choose a deal from the list, or no deal.")
        return raw
