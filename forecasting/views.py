"""Forecast dashboard (/forecast/), its CSV exports, pipeline movement and the quota page.

Thin: the filter form turns the URL into a scope, `forecasting.analytics` computes, and
`forecasting.tables` shapes the same figures for the page and for CSV.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deals.errors import DomainError
from forecasting import analytics, services, tables
from forecasting.forms import ForecastFilterForm, QuotaForm


def _filters(request: HttpRequest) -> ForecastFilterForm:
    form = ForecastFilterForm(request.GET or None, user=request.user)
    if form.is_bound:
        form.is_valid()
    return form


def _chart_data(
    forecast: analytics.Forecast,
    funnel: analytics.Funnel,
    accuracy: list[analytics.AccuracyRow],
) -> dict[str, Any]:
    """What forecast.js draws; every number is also in a table under its chart."""

    def num(value: Any) -> float | None:
        return None if value is None else float(analytics.money(value))

    stages = funnel.stages
    return {
        "forecast": {
            "labels": [p.period for p in forecast.periods],
            "won": [num(p.won) for p in forecast.periods],
            "commit": [num(p.commit) for p in forecast.periods],
            "best_case": [num(p.best_case) for p in forecast.periods],
            "pipeline": [num(p.pipeline) for p in forecast.periods],
            "weighted": [num(p.weighted) for p in forecast.periods],
            "quota": [num(p.quota) for p in forecast.periods],
        },
        "funnel": {
            "labels": [s.name for s in stages],
            "entered": [s.entered for s in stages],
            "lost": [s.lost for s in stages],
        },
        "time_in_stage": {
            "labels": [s.name for s in stages],
            "median": [s.median_days for s in stages],
            "p90": [s.p90_days for s in stages],
        },
        "lost_reasons": {
            "labels": [r["reason"] or "(none given)" for r in funnel.lost_reasons],
            "counts": [r["count"] for r in funnel.lost_reasons],
        },
        "accuracy": {
            "labels": [r.period for r in accuracy],
            "forecast": [num(r.forecast) for r in accuracy],
            "won": [num(r.won) for r in accuracy],
        },
    }


def _money(value: Any, currency: str) -> str:
    return "—" if value is None else f"{analytics.money(value):,.2f} {currency}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} days"


def dashboard_context(form: ForecastFilterForm) -> dict[str, Any]:
    """Every figure of the dashboard, in a fixed number of queries whatever the deal count."""
    scope, options = form.scope(), form.options()
    forecast = analytics.forecast(scope, **options)
    funnel = analytics.funnel(scope, since=options["since"], until=options["until"])
    accuracy = analytics.forecast_accuracy(scope, period=options["period"])
    reps = analytics.rep_figures(scope, **options)
    watch = analytics.watchlist(scope)
    probabilities = analytics.stage_probabilities(scope)
    current = forecast.current
    currency = forecast.currency
    return {
        "forecast": forecast,
        "funnel": funnel,
        "current": current,
        "cards": [
            ("weighted", "Weighted forecast", _money(current.weighted, currency), current.period),
            ("commit", "Commit", _money(current.commit, currency), current.period),
            ("won", "Won so far", _money(current.won, currency), current.period),
            ("quota", "Quota", _money(current.quota, currency), current.period),
            ("gap", "Gap to quota", _money(current.gap, currency), "quota − won"),
            ("win_rate", "Win rate", _percent(funnel.win_rate), f"{funnel.since} – {funnel.until}"),
            (
                "deal_size",
                "Average deal size",
                _money(funnel.average_deal_size, currency),
                "won deals",
            ),
            ("cycle", "Sales cycle", _days(funnel.cycle_days), "created → won"),
        ],
        "tables": {
            "forecast": tables.forecast_table(forecast),
            "funnel": tables.funnel_table(funnel),
            "time_in_stage": tables.time_in_stage_table(funnel),
            "lost_reasons": tables.lost_reasons_table(funnel),
            "accuracy": tables.accuracy_table(accuracy),
            "reps": tables.reps_table(reps),
            "stalled": tables.watch_table("stalled", "Stalled deals", watch["stalled"]),
            "at_risk": tables.watch_table("at_risk", "At-risk deals", watch["at_risk"]),
            "probabilities": tables.probabilities_table(probabilities),
        },
        "charts": _chart_data(forecast, funnel, accuracy),
        "min_learned_sample": analytics.MIN_LEARNED_SAMPLE,
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = _filters(request)
    context = {"nav": "forecast", "form": form, "query": request.GET.urlencode()}
    context.update(dashboard_context(form))
    context["charts_json"] = json.dumps(context["charts"])
    template = "forecasting/dashboard.html"
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        template += "#body"
    return render(request, template, context)


@login_required
@require_GET
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    builder = tables.BUILDERS.get(table)
    if builder is None:
        raise Http404("No such table.")
    form = _filters(request)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    response = HttpResponse(builder(form).as_csv(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{table}-{stamp}.csv"'
    return response


@login_required
@require_GET
def movement(request: HttpRequest) -> HttpResponse:
    """Movement since a date and the pipeline as it stood that day (loaded on demand)."""
    form = _filters(request)
    scope, options = form.scope(), form.options()
    since = options["since"] or analytics.default_funnel_range()[0]
    context = {
        "since": since,
        "query": request.GET.urlencode(),
        "movement": tables.movement_table(
            analytics.movement_since(scope, since, period=options["period"])
        ),
        "as_of": tables.as_of_table(analytics.pipeline_as_of(scope, since)),
    }
    return render(request, "forecasting/_movement.html", context)


# --- quotas --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def quotas(request: HttpRequest) -> HttpResponse:
    if not services.can_manage_quotas(request.user):
        raise PermissionDenied("Only admins and managers set quotas.")
    form = QuotaForm(request.POST or None, by=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.set_quota(
                by=request.user,
                user=data["user"],
                team=data["team"],
                period=data["period"],
                period_start=data["period_start"],
                amount=data["amount"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Quota saved.")
            return redirect("forecast-quotas")
    status = 400 if request.method == "POST" else 200
    context = {
        "nav": "forecast",
        "form": form,
        "quotas": services.quotas_visible_to(request.user)[:500],
    }
    return render(request, "forecasting/quotas.html", context, status=status)


@login_required
@require_POST
def delete_quota(request: HttpRequest, pk: int) -> HttpResponse:
    quota = get_object_or_404(services.quotas_visible_to(request.user), pk=pk)
    try:
        services.delete_quota(quota=quota, by=request.user)
    except DomainError as error:
        raise PermissionDenied(error.message) from error
    messages.success(request, "Quota deleted.")
    return redirect("forecast-quotas")
