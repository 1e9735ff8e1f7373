from __future__ import annotations

from django import forms

from currencies.models import ExchangeRate


class ExchangeRateForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "valid_from"]
        widgets = {
            "currency": forms.TextInput(attrs={"placeholder": "EUR", "autocomplete": "off"}),
            "valid_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def validate_unique(self) -> None:
        """One rate a currency a day: the service says so, on `valid_from`."""
