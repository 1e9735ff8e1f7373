"""The forecast by close period: weighted pipeline, categories, won actuals and quota.

Categories of open deals (disjoint, so they stack): commit = probability ≥ 70 % or a stage
flagged commit; best case = probability ≥ 40 %; pipeline = the rest. Category figures are plain
amounts; `weighted` is Σ amount × probability. Open deals without a close date are left out of
the periods and reported as `unscheduled`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from currencies.selectors import Unconverted
from deals.models import Deal
from forecasting import periods
from forecasting.analytics.closed_deals import (
    added_up,
    closed_aggregates,
    closed_day_rows,
    closed_day_sums,
    closed_result,
    count_lost_and_open,
    won_day_groups,
    won_deal_groups,
)
from forecasting.analytics.probabilities import category_filters, probability_expression
from forecasting.analytics.quotas import AgainstQuota, quota_for, quota_rows
from forecasting.analytics.ranges import LearnedOpen, Range, learned_open_figures
from forecasting.analytics.scope import (
    MONEY,
    PRODUCT,
    Row,
    Scope,
    as_date,
    money,
    per_hundred,
    running_counts_kept,
    scoped_deals,
    trunc_period,
    unconverted_in,
    without_jit,
)

if TYPE_CHECKING:
    from deals.models import Pipeline

SUMMED = ("weighted", "commit", "best_case", "pipeline", "won")


@dataclass
class PeriodFigures(AgainstQuota):
    period: str | None
    start: dt.date | None
    weighted: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    pipeline: Decimal = Decimal(0)
    won: Decimal = Decimal(0)
    quota: Decimal | None = None
    deals: int = 0
    won_deals: int = 0
    # Learned forecast only: what the open deals and the deals not yet in the pipeline may
    # bring in, 10th / 50th / 90th percentile, and the expected wins of the latter.
    range: Range | None = None
    not_yet_in_pipeline: Decimal | None = None

    def add(self, other: PeriodFigures) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.deals += other.deals
        self.won_deals += other.won_deals
        if other.quota is not None:
            self.quota = (self.quota or Decimal(0)) + other.quota

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            **{name: str(money(getattr(self, name))) for name in SUMMED},
            "quota": None if self.quota is None else str(money(self.quota)),
            "gap": None if self.gap is None else str(self.gap),
            "attainment": self.attainment,
            "deals": self.deals,
            "won_deals": self.won_deals,
            **self.range_dict(),
        }

    def range_dict(self) -> dict[str, str]:
        """p10 / p50 / p90 and what is not yet in the pipeline as money strings; none (absent)
        with configured probabilities."""
        if self.range is None:
            return {}
        names = ("p10", "p50", "p90")
        return {name: str(money(getattr(self.range, name))) for name in names} | {
            "not_yet_in_pipeline": str(money(self.not_yet_in_pipeline))
        }


@dataclass
class Forecast:
    period: str
    probabilities: str
    currency: str
    first: dt.date
    last: dt.date
    periods: list[PeriodFigures]
    totals: PeriodFigures
    unscheduled: PeriodFigures
    current: PeriodFigures
    closed: dict[str, Any] | None = None
    unconverted: list[Unconverted] = field(default_factory=list)  # left out: no exchange rate

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "probabilities": self.probabilities,
            "currency": self.currency,
            "since": self.first.isoformat(),
            "until": self.last.isoformat(),
            "periods": [p.as_dict() for p in self.periods],
            "totals": self.totals.as_dict(),
            "unscheduled": self.unscheduled.as_dict(),
            "unconverted": [
                {"currency": u.currency, "deals": u.deals, "amount": str(money(u.amount))}
                for u in self.unconverted
            ],
        }


def forecast(
    scope: Scope,
    *,
    period: str = "month",
    probabilities: str = "configured",
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
    closed_range: tuple[dt.date, dt.date] | None = None,
    closed_pipeline: Pipeline | None = None,
) -> Forecast:
    """Weighted pipeline, categories, won actuals and quota per close period (3–5 queries).

    With `closed_range`, the won query also adds up the closed-deal figures of `closed_figures`
    (win rate, deal size, cycle; not velocity) for `closed_pipeline`: the dashboard's cards.
    """
    today = today or timezone.localdate()
    first, last = periods.forecast_window(today, period, since=since, until=until)
    deals = scoped_deals(scope)
    by_start = {
        start: PeriodFigures(periods.label(start, period), start)
        for start in periods.starts_between(first, last, period)
    }
    unscheduled = PeriodFigures(None, None)
    with without_jit():
        learned = None
        if probabilities == "learned":
            learned = learned_open_figures(deals, starts=list(by_start), kind=period, today=today)
            _add_learned(learned, by_start, unscheduled)
        else:
            _add_open_figures(deals, by_start, unscheduled, (first, last, period))
        closed = _add_won_figures(scope, deals, by_start, period, closed_range, closed_pipeline)
    totals = _add_quotas(scope, by_start, (first, last, period))
    if learned:
        totals.range, totals.not_yet_in_pipeline = learned.total, learned.not_yet_in_pipeline
    current_start = periods.period_start(today, period)
    return Forecast(
        period=period,
        probabilities=probabilities,
        currency=scope.currency_code,
        first=first,
        last=last,
        periods=list(by_start.values()),
        totals=totals,
        unscheduled=unscheduled,
        current=by_start.get(current_start)
        or PeriodFigures(periods.label(current_start, period), current_start),
        closed=closed,
        unconverted=unconverted_in(scope),
    )


Window = tuple[dt.date, dt.date, str]  # first day, last day, period kind


def _add_open_figures(
    deals: QuerySet[Deal],
    by_start: dict[dt.date, PeriodFigures],
    unscheduled: PeriodFigures,
    window: Window,
) -> None:
    """Open deals due in the window (or undated), by close period: the main figure's query."""
    first, last, kind = window
    aggregates: dict[str, Any] = {
        "weighted_x100": Sum(F(MONEY) * F("prob"), output_field=PRODUCT),
        "deals": Count("id"),
        "open_amount": Sum(MONEY),
    }
    for name, condition in category_filters().items():
        aggregates[name] = Sum(MONEY, filter=condition)
    rows: QuerySet[Any, Row] = (
        deals.filter(status=Deal.Status.OPEN)
        .filter(Q(expected_close_date__range=(first, last)) | Q(expected_close_date__isnull=True))
        .annotate(
            prob=probability_expression(),
            bucket=trunc_period(kind)("expected_close_date"),
        )
        .values("bucket")
        .annotate(**aggregates)
        .order_by()
    )
    for row in rows:
        bucket = as_date(row["bucket"])
        figures = unscheduled if bucket is None else by_start[bucket]
        figures.weighted = per_hundred(row["weighted_x100"])
        figures.commit = row["commit"] or Decimal(0)
        figures.best_case = row["best_case"] or Decimal(0)
        figures.pipeline = (row["open_amount"] or Decimal(0)) - figures.commit - figures.best_case
        figures.deals = row["deals"]


def _add_learned(
    learned: LearnedOpen, by_start: dict[dt.date, PeriodFigures], unscheduled: PeriodFigures
) -> None:
    """The learned forecast's open figures (`ranges.learned_open_figures`) into the periods."""
    for figures, found in [
        (unscheduled, learned.unscheduled),
        *((by_start[start], found) for start, found in learned.periods.items()),
    ]:
        names = ("weighted", "commit", "best_case", "pipeline", "deals", "range")
        for name in (*names, "not_yet_in_pipeline"):
            setattr(figures, name, getattr(found, name))


def _add_won_figures(
    scope: Scope,
    deals: QuerySet[Deal],
    by_start: dict[dt.date, PeriodFigures],
    kind: str,
    closed_range: tuple[dt.date, dt.date] | None,
    closed_pipeline: Pipeline | None,
) -> dict[str, Any] | None:
    """Won per period, plus (when asked) the closed-deal figures. Returns the latter.

    Where the running counts answer (`running_counts_kept`), one grouped query over the
    closed deals' day sums (ClosedDay): the won day rows of the periods and the closed range's
    won and lost rows, each figure a sum filtered to its rows. Elsewhere one pass over the won
    deals grouped by period (the closed-deal sums filtered per group, then added up), and a
    count of the lost ones."""
    starts = list(by_start)
    window = (starts[0], periods.period_end(starts[-1], kind))
    if running_counts_kept():
        also, extra = None, {}
        if closed_range is not None:
            also = closed_day_rows(*closed_range, closed_pipeline)
            extra = closed_day_sums(*closed_range, closed_pipeline)
        sums = _add_won_groups(won_day_groups(scope, kind, window, extra, also), by_start, extra)
    elif closed_range is None:
        _add_won_groups(won_deal_groups(deals, kind, window, {}), by_start, {})
    else:
        # The cards show no velocity: leave out the open deals it would need.
        closed = closed_aggregates(*closed_range, closed_pipeline, with_open=False)
        days = (min(window[0], closed_range[0]), max(window[1], closed_range[1]))
        sums = _add_won_groups(won_deal_groups(deals, kind, days, closed.won), by_start, closed.won)
        sums |= count_lost_and_open(deals, closed)
    if closed_range is None:
        return None
    return closed_result(sums, closed_range, closed_pipeline)


def _add_won_groups(
    groups: QuerySet[Any, Row], by_start: dict[dt.date, PeriodFigures], extra: dict[str, Any]
) -> dict[str, Any]:
    """Add each period's won deals (`won_deal_groups`' rows) to its figures, and return the
    `extra` sums added up over every group."""
    rows = list(groups)
    for group in rows:
        bucket = as_date(group["bucket"])
        if bucket in by_start:
            by_start[bucket].won += group["won"] or Decimal(0)
            by_start[bucket].won_deals += int(group["won_deals"] or 0)  # Σ bigint: numeric
    return added_up(rows, extra)


def _add_quotas(
    scope: Scope, by_start: dict[dt.date, PeriodFigures], window: Window
) -> PeriodFigures:
    """Each period's quota (one read of the view's quotas), and the totals of every period."""
    first, last, kind = window
    quotas = quota_rows(scope, first, last)
    totals = PeriodFigures("total", None)
    for start, figures in by_start.items():
        figures.quota = quota_for(quotas, start, kind)
        totals.add(figures)
    return totals
