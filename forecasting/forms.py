"""Dashboard and API filters (one form for both, so both read the same numbers) and quotas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import RegexValidator
from django.http import QueryDict
from django.utils import timezone
from django.utils.choices import CallableChoiceIterator

from accounts.models import Role, Team, User
from accounts.visibility import readable_people
from currencies.selectors import reporting_currency
from deals.models import Pipeline
from forecasting import periods
from forecasting.analytics import Scope, currencies_in_use, default_funnel_range
from forecasting.models import Quota, quota_people, quota_teams

# Dates outside these years are typing mistakes (and periods around them would not exist).
FIRST_YEAR, LAST_YEAR = 1900, 2200
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONTH_INPUT = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]

# The dashboard's controls, in groups: what is looked at, the forward forecast (periods of
# close dates) and the history window (moves and closed deals, by default the last 90 days).
FILTER_GROUPS = (
    ("Scope", ("pipeline", "team", "owner", "currency", "probabilities")),
    ("Forecast", ("period", "forecast_from", "forecast_to")),
    ("History", ("history_since", "history_until")),
)
DATE_PAIRS = (
    ("since", "until"),
    ("forecast_from", "forecast_to"),
    ("history_since", "history_until"),
)


if TYPE_CHECKING:
    _UserChoiceField = forms.ModelChoiceField[User]
else:  # Django's form fields take no type arguments at run time
    _UserChoiceField = forms.ModelChoiceField


class PersonChoiceField(_UserChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


def _choices(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    """A model choice field of `form` (to give it the queryset of the user at hand)."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{name} is not a model choice field")
    return field


def _is_plain_rep(user: User) -> bool:
    return bool(user and user.is_authenticated) and user.role == Role.REP


class ForecastFilterForm(forms.Form):
    pipeline = forms.ModelChoiceField(Pipeline.objects.all(), required=False, empty_label="All")
    team = forms.ModelChoiceField(Team.objects.none(), required=False, empty_label="All")
    owner = PersonChoiceField(User.objects.none(), required=False, empty_label="All", label="Rep")
    period = forms.ChoiceField(choices=[("month", "Month"), ("quarter", "Quarter")], required=False)
    probabilities = forms.ChoiceField(
        choices=[("configured", "Configured"), ("learned", "Learned")], required=False
    )
    # Empty: every currency, converted to the reporting one. Any three letters are accepted (the
    # API's filter too): that currency alone; the page offers the currencies in use.
    currency = forms.CharField(
        required=False,
        max_length=3,
        validators=[RegexValidator(r"^[A-Za-z]{3}$", "Use a three-letter currency code.")],
        widget=forms.Select,
    )
    forecast_from = forms.DateField(
        required=False, label="From month", widget=MONTH_INPUT, input_formats=MONTH_FORMATS
    )
    forecast_to = forms.DateField(
        required=False, label="To month", widget=MONTH_INPUT, input_formats=MONTH_FORMATS
    )
    history_since = forms.DateField(required=False, label="From day", widget=DATE_INPUT)
    history_until = forms.DateField(required=False, label="To day", widget=DATE_INPUT)
    # Before the two groups, one range drove both: old links keep working (`history`).
    since = forms.DateField(required=False, widget=forms.HiddenInput)
    until = forms.DateField(required=False, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, *args: Any, user: User, **kwargs: Any) -> None:
        # A rep's dashboard starts on their own deals; "All" (owner=) shows their teams'.
        if _is_plain_rep(user) and (data is None or "owner" not in data):
            data = data.copy() if data is not None else QueryDict(mutable=True)
            data["owner"] = str(user.pk)
        if data is not None and data.get("currency"):  # "eur" selects EUR in the select
            data = data.copy()
            data["currency"] = str(data["currency"]).upper()
        super().__init__(data, *args, **kwargs)
        self.user = user
        _choices(self, "team").queryset = Team.objects.visible_to(user)
        _choices(self, "owner").queryset = readable_people(user)
        currency = self.fields["currency"].widget
        if isinstance(currency, forms.Select):
            # Read when the select is drawn: the API and the lazy panels never query them.
            currency.choices = CallableChoiceIterator(self._currency_choices)
            currency.attrs.pop("maxlength", None)  # the text field's, meaningless on a select

    @cached_property
    def _currencies(self) -> list[str]:
        """The currencies of the deals the user may see (the default first), and the one asked
        for in the URL should no deal use it. One query, however often the select asks."""
        codes = currencies_in_use(self.user)
        asked = self.value("currency", "")
        return [*codes, asked] if asked and asked not in codes else codes

    def _currency_choices(self) -> list[tuple[str, str]]:
        """ "All (in USD)" (every currency, converted: the default), then each one alone."""
        every = ("", f"All (in {reporting_currency()})")
        return [every, *((code, f"{code} only") for code in self._currencies)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for first, last in DATE_PAIRS:
            for name in (first, last):
                day = data.get(name)
                if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
                    self.add_error(name, f"Choose a date between {FIRST_YEAR} and {LAST_YEAR}.")
                    data.pop(name, None)
            since, until = data.get(first), data.get(last)
            if since and until and since > until:
                self.add_error(last, "The end date must be on or after the start date.")
            if since and until and (until - since).days > 366 * 5:
                self.add_error(first, "Choose a range of at most five years.")
        return data

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The visible controls in their groups (Scope, Forecast, History)."""
        return [(title, [self[name] for name in names]) for title, names in FILTER_GROUPS]

    def value(self, name: str, default: Any = None) -> Any:
        if not self.is_bound or not self.is_valid():
            return default
        return self.cleaned_data.get(name) or default

    def scope(self) -> Scope:
        return Scope(
            user=self.user,
            pipeline=self.value("pipeline"),
            team=self.value("team"),
            owner=self.value("owner"),
            currency=self.value("currency", ""),
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments of the forward forecast: period kind, probabilities, and the close
        periods to show (the months or quarters holding `since` and `until`)."""
        return {
            "period": self.value("period", "month"),
            "probabilities": self.value("probabilities", "configured"),
            "since": self.value("forecast_from") or self.value("since"),
            "until": self.value("forecast_to") or self.value("until"),
        }

    def history_start(self) -> dt.date:
        """The history window's first day (movement since, the pipeline on)."""
        return self.history()[0] or default_funnel_range()[0]

    def history(self, *, keep_ahead: bool = False) -> tuple[dt.date | None, dt.date | None]:
        """The history window (funnel, closed-deal figures, movement; None: the default last
        90 days): `history_since`/`history_until`, else `since`/`until` (the funnel API's
        parameters, an old dashboard link's range) unless, on the dashboard, that range starts
        after today: it was chosen for the forecast ahead and would empty the history."""
        since, until = self.value("history_since"), self.value("history_until")
        if since or until:
            return since, until
        since, until = self.value("since"), self.value("until")
        if since and since > timezone.localdate() and not keep_ahead:
            return None, None
        return since, until


class QuotaForm(forms.Form):
    """Who (a rep or a team), which period, how much. Rights are checked by the service."""

    user = PersonChoiceField(User.objects.none(), required=False, label="Rep")
    team = forms.ModelChoiceField(Team.objects.none(), required=False)
    period = forms.ChoiceField(choices=Quota.Period.choices)
    period_start = forms.DateField(
        label="Starts", help_text="First day of the month or quarter.", widget=DATE_INPUT
    )
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))

    def __init__(self, *args: Any, by: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "user").queryset = quota_people(by)
        _choices(self, "team").queryset = quota_teams(by)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("user")) == bool(data.get("team")):
            raise forms.ValidationError("Choose either a rep or a team.")
        start, kind = data.get("period_start"), data.get("period")
        if start and kind and not periods.is_period_start(start, kind):
            self.add_error("period_start", f"Use the first day of the {kind}.")
        return data
