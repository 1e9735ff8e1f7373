"""The exchange-rate list `/settings/exchange-rates/` (admins only; everyone else gets 404).

Add a currency's rate from a day, or delete one; every change goes through the currency
services and answers with the re-rendered list (`currencies/exchange_rates.html#rate-panel`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from accounts.web import AuthedRequest, admin_required
from currencies import services
from currencies.forms import ExchangeRateForm
from currencies.models import ExchangeRate
from currencies.selectors import rates_in_effect, reporting_currency
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import panel_response

PAGE = "currencies/exchange_rates.html"


def _context(form: ExchangeRateForm | None = None) -> dict[str, Any]:
    in_effect = rates_in_effect().per_unit
    rates = [
        {"entry": entry, "in_effect": in_effect.get(entry.currency) == entry.rate}
        for entry in ExchangeRate.objects.order_by("currency", "-valid_from", "id")
    ]
    return {
        "rates": rates,
        "reporting": reporting_currency(),
        "form": form or ExchangeRateForm(),
        "open_new": form is not None,
    }


def _panel(
    request: AuthedRequest, *, status: int = 200, message: str = "", **kw: Any
) -> HttpResponse:
    return panel_response(
        request,
        f"{PAGE}#rate-panel",
        _context(**kw),
        target="#rate-panel",
        status=status,
        message=message,
    )


@admin_required
@require_GET
def exchange_rates(request: AuthedRequest) -> HttpResponse:
    return render(request, PAGE, {"nav": "settings", **_context()})


@admin_required
@require_POST
def add_exchange_rate(request: AuthedRequest) -> HttpResponse:
    form = ExchangeRateForm(request.POST)
    if form.is_valid():
        try:
            entry = services.set_rate(by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _panel(request, message=f"{entry.currency} rate from {entry.valid_from} added.")
    return _panel(request, status=422, form=form)


@admin_required
@require_POST
def delete_exchange_rate(request: AuthedRequest, rate_id: int) -> HttpResponse:
    entry = get_object_or_404(ExchangeRate, pk=rate_id)
    services.delete_rate(by=request.user, rate=entry)
    return _panel(request, message=f"{entry.currency} rate from {entry.valid_from} deleted.")
