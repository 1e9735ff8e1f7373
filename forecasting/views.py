"""Forecast dashboard (/forecast/), its CSV exports, pipeline movement and the quota page.

Thin: the filter form turns the URL into a scope, `forecasting.analytics` computes, and
`forecasting.tables` shapes the same figures for the page and for CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from deals.models import Deal
from forecasting import analytics, services, tables
from forecasting.forms import ForecastFilterForm, QuotaForm
from forecasting.models import Quota, can_manage_quotas
from pipeline_crm.csv_files import Column, csv_download, csv_response, wants_csv
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import refusal, wants_fragment
from pipeline_crm.templatetags import figures


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here requires a login)."""
    return cast(User, request.user)


def _filters(request: HttpRequest) -> ForecastFilterForm:
    form = ForecastFilterForm(request.GET or None, user=_user(request))
    if form.is_bound:
        form.is_valid()
    return form


def _num(value: Any) -> float | None:
    return None if value is None else float(analytics.money(value))


def _forecast_chart(forecast: analytics.Forecast) -> dict[str, Any]:
    rows = forecast.periods
    ranged = forecast.probabilities == "learned"
    return {
        "labels": [p.period for p in rows],
        **{
            name: [_num(getattr(p, name)) for p in rows]
            for name in ("won", "commit", "best_case", "pipeline", "weighted", "quota")
        },
        # Learned: the band the open deals bring in 80 % of the time (p10–p90).
        **{
            name: [_num(Decimal(str(getattr(p.range, name)))) if p.range else None for p in rows]
            for name in (("p10", "p90") if ranged else ())
        },
    }


def _funnel_charts(funnel: analytics.Funnel) -> dict[str, Any]:
    stages = funnel.stages
    names = [s.name for s in stages]
    return {
        "funnel": {
            "labels": names,
            "entered": [s.entered for s in stages],
            "lost": [s.lost for s in stages],
        },
        "time_in_stage": {
            "labels": names,
            "median": [s.median_days for s in stages],
            "p90": [s.p90_days for s in stages],
        },
        "lost_reasons": {
            "labels": [r["reason"] or "(none given)" for r in funnel.lost_reasons],
            "counts": [r["count"] for r in funnel.lost_reasons],
        },
    }


def _accuracy_chart(result: analytics.Backtest) -> dict[str, Any]:
    rows = result.rows
    return {
        "labels": [r.period for r in rows],
        **{
            name: [_num(getattr(r, name)) for r in rows]
            for name in ("won", "configured", "learned", "p10", "p90")
        },
    }


def _range_hint(current: analytics.PeriodFigures, money: Callable[[Any], str]) -> str | None:
    """The weighted card's hint: its period, and with learned probabilities the range the open
    deals bring in 80 % of the time."""
    if current.range is None:
        return current.period
    low, high = (Decimal(str(v)) for v in (current.range.p10, current.range.p90))
    later = current.not_yet_in_pipeline or Decimal(0)
    return (
        f"{current.period} · 80 % range {money(low)} – {money(high)}"
        f" (with {money(later)} from deals not yet in the pipeline)"
    )


def dashboard_context(form: ForecastFilterForm) -> dict[str, Any]:
    """The page itself, in a fixed number of queries: headline cards, the forecast by period
    (the main figure), and the two tables that read a few rows by index (the watchlist, the
    stage probabilities from their running counts): a request of their own would cost more
    than their work. The history panels load on their own (`panel`)."""
    scope, options = form.scope(), form.options()
    pipeline, since, until = analytics.closed_scope(scope, *form.history())
    forecast = analytics.forecast(
        scope, **options, closed_range=(since, until), closed_pipeline=pipeline
    )
    closed = forecast.closed or {}
    current, currency = _current_period(forecast, scope, options), forecast.currency

    def money(value: Any) -> str:
        return figures.money(value, currency)

    return {
        "forecast": forecast,
        "every_currency": not scope.currency,  # converted to the reporting currency
        "closed": closed,
        "cards": [
            ("weighted", "Weighted forecast", money(current.weighted), _range_hint(current, money)),
            ("commit", "Commit", money(current.commit), current.period),
            ("won", "Won so far", money(current.won), current.period),
            ("quota", "Quota", money(current.quota), current.period),
            ("gap", "Gap to quota", money(current.gap), "quota − won"),
            (
                "win_rate",
                "Win rate",
                figures.percent(closed["win_rate"]),
                f"{closed['since']} – {closed['until']}",
            ),
            ("deal_size", "Average deal size", money(closed["average_deal_size"]), "won deals"),
            ("cycle", "Sales cycle", figures.days(closed["cycle_days"]), "created → won"),
        ],
        "forecast_table": tables.forecast_table(forecast),
        "charts": {"forecast": _forecast_chart(forecast)},
        "watch": tables.watch_tables(scope),
        "probabilities_table": tables.probabilities_table(analytics.stage_probabilities(scope)),
    }


def _current_period(
    forecast: analytics.Forecast, scope: analytics.Scope, options: dict[str, Any]
) -> analytics.PeriodFigures:
    """The headline cards' period (the one holding today), even when the periods chosen for
    the forecast leave it out: then read on its own (a few more queries)."""
    current = forecast.current
    if any(p.start == current.start for p in forecast.periods):
        return current
    alone = {**options, "since": current.start, "until": current.start}
    return analytics.forecast(scope, **alone).current


def _funnel_panel(form: ForecastFilterForm) -> dict[str, Any]:
    scope = form.scope()
    since, until = form.history()
    funnel = analytics.funnel(scope, since=since, until=until)
    return {
        "funnel": funnel,
        "default_pipeline": scope.pipeline is None,
        "tables": {
            "funnel": tables.funnel_table(funnel),
            "time_in_stage": tables.time_in_stage_table(funnel),
            "lost_reasons": tables.lost_reasons_table(funnel),
            "lost_by_stage": tables.lost_by_stage_table(funnel),
        },
        "charts": _funnel_charts(funnel),
    }


# The accuracy panel's request that asks for the backtest even where it was not stored.
COMPUTE = "compute"


def _accuracy_panel(form: ForecastFilterForm) -> dict[str, Any]:
    """The backtest where the nightly job stored it (or when asked for: `COMPUTE`); else the
    button that computes it from the history (seconds on a large database)."""
    if form.data.get(COMPUTE):
        result: analytics.Backtest | None = tables.backtest_result(form)
    else:
        result = tables.stored_backtest_result(form)
    if result is None:
        return {"pending": True, "compute": COMPUTE}
    return {
        "backtest": result,
        "table": tables.accuracy_table(result),
        "charts": {"accuracy": _accuracy_chart(result)},
    }


def _reps_panel(form: ForecastFilterForm) -> dict[str, Any]:
    return {"table": tables.BUILDERS["reps"](form)}


PANELS: dict[str, Callable[[ForecastFilterForm], dict[str, Any]]] = {
    "funnel": _funnel_panel,
    "accuracy": _accuracy_panel,
    "reps": _reps_panel,
}


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = _filters(request)
    context = {"nav": "forecast", "form": form, "query": request.GET.urlencode()}
    context.update(dashboard_context(form))
    # A filter change swaps the body in place; a history restore wants the whole page.
    template = "forecasting/dashboard.html" + ("#body" if wants_fragment(request) else "")
    return render(request, template, context)


@login_required
@require_GET
def panel(request: HttpRequest, name: str) -> HttpResponse:
    """One panel of the dashboard (funnel, accuracy, reps), loaded by htmx after the page so
    the main figure never waits for the history-heavy ones."""
    build = PANELS.get(name)
    if build is None:
        raise Http404("No such panel.")
    form = _filters(request)
    context = {"query": request.GET.urlencode(), **build(form)}
    return render(request, f"forecasting/panels.html#{name}", context)


@login_required
@require_GET
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    builder = tables.BUILDERS.get(table)
    if builder is None:
        raise Http404("No such table.")
    form = _filters(request)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    built = builder(form)
    return csv_response(filename_stem=table, header=built.columns, rows=built.rows)


@login_required
@require_GET
def movement(request: HttpRequest) -> HttpResponse:
    """Movement since a date and the pipeline as it stood that day (loaded on demand)."""
    form = _filters(request)
    context = {
        "since": form.history_start(),
        "query": request.GET.urlencode(),
        "movement": tables.BUILDERS["movement"](form),
        "as_of": tables.BUILDERS["as_of"](form),
    }
    return render(request, "forecasting/_movement.html", context)


MOVEMENT_PAGE_SIZE = 25
MOVEMENT_DEAL_COLUMNS = (
    Column("Deal", lambda deal: deal.title),
    Column("Owner", lambda deal: deal.owner),
    Column("Stage", lambda deal: deal.stage.name),
    Column("Status", lambda deal: deal.status),
    Column("Amount", lambda deal: deal.amount),
    Column("Currency", lambda deal: deal.currency),
    Column("Expected close", lambda deal: deal.expected_close_date),
)


@login_required
@require_GET
def movement_deals(request: HttpRequest) -> HttpResponseBase:
    """The deals behind one movement figure (`?kind=new|advanced|slipped|won|lost`), in pages;
    `?format=csv` gives them all."""
    form, move = _filters(request), request.GET.get("kind", "")
    if move not in analytics.Movement.MOVES:
        choices = ", ".join(analytics.Movement.MOVES)
        return HttpResponseBadRequest(f"kind: choose one of {choices}.", content_type="text/plain")
    scope, since = form.scope(), form.history_start()
    deals = analytics.movement_deals(scope, since, move=move, period=form.options()["period"])
    if wants_csv(request):
        return csv_download(
            filename_stem=f"movement-{move}", columns=MOVEMENT_DEAL_COLUMNS, records=deals
        )
    back = request.GET.copy()
    for name in ("kind", "page"):
        back.pop(name, None)
    context = {
        "nav": "forecast",
        "title": analytics.MOVE_TITLES[move],
        "since": since,
        "currency": scope.currency_code,
        "back_query": back.urlencode(),
        "page": Paginator(deals, MOVEMENT_PAGE_SIZE).get_page(request.GET.get("page")),
    }
    template = "forecasting/movement_deals.html" + ("#list" if wants_fragment(request) else "")
    return render(request, template, context)


# --- quotas --------------------------------------------------------------------------------------

QUOTA_PAGE_SIZE = 50
QUOTA_COLUMNS = (
    Column("Rep", lambda quota: quota.user or ""),
    Column("Team", lambda quota: quota.team or ""),
    Column("Period", lambda quota: quota.get_period_display()),
    Column("Starts", lambda quota: quota.period_start),
    Column("Amount", lambda quota: quota.amount),
)


@login_required
@require_http_methods(["GET", "POST"])
def quotas(request: HttpRequest) -> HttpResponseBase:
    """The quotas the user may see, and the form to set one (admins and managers only)."""
    user = _user(request)
    if not can_manage_quotas(user):
        return refusal(request, "Only admins and managers set quotas.")
    quotas = Quota.objects.visible_to(user).newest_first()
    if request.method == "GET" and wants_csv(request):  # every quota, not one page
        return csv_download(filename_stem="quotas", columns=QUOTA_COLUMNS, records=quotas)
    form = QuotaForm(request.POST or None, by=user)
    if request.method == "POST" and form.is_valid() and _set_quota(user, form):
        messages.success(request, "Quota saved.")
        return redirect("forecast-quotas")
    status = 400 if request.method == "POST" else 200
    context = {
        "nav": "forecast",
        "form": form,
        "page": Paginator(quotas, QUOTA_PAGE_SIZE).get_page(request.GET.get("page")),
        "default_currency": settings.DEFAULT_CURRENCY,  # quotas are set in it
    }
    return render(request, "forecasting/quotas.html", context, status=status)


def _set_quota(user: User, form: QuotaForm) -> bool:
    """Set the quota the valid form describes; a refusal becomes the form's error."""
    data = form.cleaned_data
    try:
        services.set_quota(
            by=user,
            user=data["user"],
            team=data["team"],
            period=data["period"],
            period_start=data["period_start"],
            amount=data["amount"],
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return False
    return True


@login_required
@require_POST
def delete_quota(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    quota = get_object_or_404(Quota.objects.visible_to(user), pk=pk)
    try:
        services.delete_quota(quota=quota, by=user)
    except DomainError as error:
        return refusal(request, error)
    messages.success(request, "Quota deleted.")
    return redirect("forecast-quotas")


@login_required
@require_GET
def deal_probability(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The deal page's note under its probability: what the learned forecast weighs this open
    deal by, and the closed deals behind that figure (loaded by htmx: the deal page does not
    wait for the learning)."""
    deal = get_object_or_404(Deal.objects.visible_to(_user(request)), pk=deal_id)
    learned = None
    if deal.status == Deal.Status.OPEN:
        learned = analytics.learned_for_deal(
            stage_id=deal.stage_id, owner_id=deal.owner_id, pipeline=deal.pipeline
        )
    context = {"deal": deal, "learned": learned}
    return render(request, "forecasting/deal_probability.html", context)
