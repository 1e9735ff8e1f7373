"""Closed-deal figures: win rate, average won deal size, sales-cycle length and velocity, over
the deals closed in a range (by default the last `DEFAULT_FUNNEL_DAYS` days)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Aggregate, Count, DateField, DurationField, F, Q, QuerySet, Sum
from django.utils import timezone

from deals.models import Deal
from forecasting.analytics.scope import (
    MONEY,
    SECONDS_PER_DAY,
    Row,
    Scope,
    day_bounds,
    rate,
    scoped_closed_days,
    scoped_deals,
    trunc_period,
)

if TYPE_CHECKING:
    from deals.models import Pipeline

DEFAULT_FUNNEL_DAYS = 90


def default_funnel_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=DEFAULT_FUNNEL_DAYS), today


def closed_scope(
    scope: Scope, since: dt.date | None = None, until: dt.date | None = None
) -> tuple[Pipeline | None, dt.date, dt.date]:
    """The deals behind the headline closed-deal figures (win rate, deal size, cycle): the
    forecast's own, so the chosen pipeline or (None) every pipeline in scope, closed in the
    range (default: the last 90 days). The funnel alone keeps to one pipeline."""
    default_since, default_until = default_funnel_range()
    return scope.pipeline, since or default_since, until or default_until


def closed_figures(
    scope: Scope, *, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Win rate, average won deal size, cycle length and velocity alone, over the deals of
    `closed_scope`: one aggregate query."""
    pipeline, since, until = closed_scope(scope, since, until)
    return closed_figures_of(scoped_deals(scope), since, until, pipeline)


@dataclass
class ClosedAggregates:
    """The closed-deal figures' inputs, each group read from its own rows: the won sums (they
    can ride along another query over won deals), and the lost and open deals to count. Kept
    apart so each read stays on its status's partial index instead of the whole table."""

    won: dict[str, Any]
    won_rows: Q
    lost_rows: Q
    open_rows: Q | None


def closed_aggregates(
    since: dt.date, until: dt.date, pipeline: Pipeline | None, *, with_open: bool = True
) -> ClosedAggregates:
    """What win rate, deal size, cycle and (`with_open`: it needs every open deal, a much
    bigger read) velocity are computed from."""
    start, end = day_bounds(since, until)
    in_pipeline = Q(pipeline=pipeline) if pipeline is not None else Q()
    won = in_pipeline & Q(status=Deal.Status.WON, won_at__gte=start, won_at__lt=end)
    return ClosedAggregates(
        won={
            "c_won": Count("id", filter=won),
            "c_won_amount": Sum(MONEY, filter=won),
            "c_won_with_amount": Count(MONEY, filter=won),
            "c_cycle": Sum(F("won_at") - F("created_at"), filter=won, output_field=DurationField()),
        },
        won_rows=won,
        lost_rows=in_pipeline & Q(status=Deal.Status.LOST, lost_at__gte=start, lost_at__lt=end),
        open_rows=in_pipeline & Q(status=Deal.Status.OPEN) if with_open else None,
    )


def closed_day_rows(since: dt.date, until: dt.date, pipeline: Pipeline | None) -> Q:
    """The closed deals' day sums (ClosedDay) of the deals won or lost from `since` to `until`
    (local days, inclusive) in `pipeline` (None: every pipeline)."""
    in_pipeline = Q(pipeline=pipeline) if pipeline is not None else Q()
    return in_pipeline & Q(day__gte=since, day__lte=until)


def closed_day_sums(
    since: dt.date, until: dt.date, pipeline: Pipeline | None
) -> dict[str, Aggregate]:
    """`closed_aggregates`' won sums and `count_lost_and_open`'s lost count (not the open
    deals) over the closed deals' day sums instead of the deals, each filtered to its rows, so
    they ride along any query over the day rows: a day row adds up its deals (amounts as
    `MONEY`, converted per row: Σ rate × amount is rate × Σ amount, exactly)."""
    rows = closed_day_rows(since, until, pipeline)
    won = rows & Q(status=Deal.Status.WON)
    return {
        "c_won": Sum("deals", filter=won),
        "c_won_amount": Sum(MONEY, filter=won),
        "c_won_with_amount": Sum("with_amount", filter=won),
        "c_cycle": Sum("cycle", filter=won),
        "c_lost": Sum("deals", filter=rows & Q(status=Deal.Status.LOST)),
    }


def added_up(groups: Iterable[Row], names: Iterable[str]) -> dict[str, Any]:
    """Each of `names` summed over the rows `groups` (NULL adds nothing; a name no row has a
    value for is left out, as `closed_result` takes it)."""
    sums: dict[str, Any] = {}
    for group in groups:
        for name in names:
            if group[name] is not None:
                sums[name] = group[name] if name not in sums else sums[name] + group[name]
    return sums


def won_deal_groups(
    deals: QuerySet[Deal], kind: str, days: tuple[dt.date, dt.date], extra: dict[str, Any]
) -> QuerySet[Any, Row]:
    """The deals won in `days` (inclusive) per period of `kind` (`bucket`, its first day):
    `won` (Σ MONEY), `won_deals`, and the `extra` aggregates."""
    start, end = day_bounds(*days)
    return (
        deals.filter(status=Deal.Status.WON, won_at__gte=start, won_at__lt=end)
        .annotate(bucket=trunc_period(kind)("won_at", output_field=DateField()))
        .values("bucket")
        .annotate(won=Sum(MONEY), won_deals=Count("id"), **extra)
        .order_by()
    )


def won_day_groups(
    scope: Scope,
    kind: str,
    days: tuple[dt.date, dt.date],
    extra: dict[str, Aggregate],
    also: Q | None = None,
) -> QuerySet[Any, Row]:
    """`won_deal_groups` read from the closed deals' day sums of the scope (where
    `running_counts_kept`): the won day rows of `days` per period, plus the day rows `also`
    selects for the `extra` aggregates. Those add to `won` of their own periods too, so only
    the periods inside `days` are whole: the callers read only those."""
    won = Q(status=Deal.Status.WON)
    rows = won & Q(day__gte=days[0], day__lte=days[1])
    return (
        scoped_closed_days(scope)
        .filter(rows | also if also is not None else rows)
        .exclude(deals=0)  # a key whose deals all reopened (or left) keeps its row
        .annotate(bucket=trunc_period(kind)("day"))
        .values("bucket")
        .annotate(won=Sum(MONEY, filter=won), won_deals=Sum("deals", filter=won), **extra)
        .order_by()
    )


def count_lost_and_open(deals: QuerySet[Deal], closed: ClosedAggregates) -> dict[str, int]:
    """The lost deals of the range (and the open ones, when asked): a count each."""
    counts = {"c_lost": deals.filter(closed.lost_rows).count()}
    if closed.open_rows is not None:
        counts["c_open"] = deals.filter(closed.open_rows).count()
    return counts


def closed_result(
    sums: Mapping[str, Any], closed_range: tuple[dt.date, dt.date], pipeline: Pipeline | None
) -> dict[str, Any]:
    """The figures from the sums and counts (`closed_aggregates`' names)."""
    won, lost = int(sums.get("c_won") or 0), int(sums.get("c_lost") or 0)
    with_amount = int(sums.get("c_won_with_amount") or 0)
    average = Decimal(sums.get("c_won_amount") or 0) / with_amount if with_amount else None
    cycle_days = _cycle_days(sums.get("c_cycle"), won)
    open_deals = None if "c_open" not in sums else int(sums["c_open"] or 0)
    velocity = None
    if open_deals is not None and average is not None and cycle_days and (won + lost):
        win_share = Decimal(won) / Decimal(won + lost)
        velocity = open_deals * win_share * average / cycle_days
    return {
        "won": won,
        "lost": lost,
        "open_deals": open_deals,
        "average_deal_size": average,
        "cycle_days": None if cycle_days is None else round(float(cycle_days), 1),
        "velocity": velocity,
        "win_rate": rate(won, won + lost),
        "since": closed_range[0],
        "until": closed_range[1],
        "pipeline": pipeline,
    }


def _cycle_days(total: Any, won: int) -> Decimal | None:
    """Average days from creation to won, from their summed durations."""
    if won and isinstance(total, dt.timedelta):
        return Decimal(total.total_seconds()) / SECONDS_PER_DAY / won
    return None


def closed_figures_of(
    deals: QuerySet[Deal], since: dt.date, until: dt.date, pipeline: Pipeline | None
) -> dict[str, Any]:
    """Win rate inputs, average won deal size, sales-cycle length and pipeline velocity."""
    closed = closed_aggregates(since, until, pipeline)
    sums = deals.filter(closed.won_rows).aggregate(**closed.won)
    sums |= count_lost_and_open(deals, closed)
    return closed_result(sums, (since, until), pipeline)
