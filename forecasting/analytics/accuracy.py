"""Forecast accuracy: what the first snapshot of each past period forecast, beside what was won."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from deals.models import Deal
from forecasting import periods
from forecasting.analytics.probabilities import COMMIT_MIN_PROBABILITY
from forecasting.analytics.scope import (
    MONEY,
    PRODUCT,
    Row,
    Scope,
    day_bounds,
    parse_day,
    per_hundred,
    rate,
    scoped_deals,
    scoped_snapshots,
    trunc_period,
)
from forecasting.models import ForecastSnapshot


@dataclass
class AccuracyRow:
    period: str
    start: dt.date
    snapshot_day: dt.date | None
    forecast: Decimal | None
    commit: Decimal | None
    won: Decimal

    @property
    def accuracy(self) -> float | None:
        """Won as a share of what was forecast (1.0 = spot on)."""
        return rate(self.won, self.forecast) if self.forecast else None


def forecast_accuracy(
    scope: Scope, *, period: str = "month", count: int = 6, today: dt.date | None = None
) -> list[AccuracyRow]:
    """For each of the last `count` periods (and the current one): the weighted forecast of the
    deals due in it, as the first snapshot taken in the period said, beside what was won."""
    today = today or timezone.localdate()
    current = periods.period_start(today, period)
    first = periods.shift(current, period, -count)
    starts = periods.starts_between(first, current, period)
    first_days = _first_snapshot_days(starts, period)
    said = _said_on(scope, first_days, period)
    won = won_by_period(scope, first, periods.period_end(current, period), period)
    rows: list[AccuracyRow] = []
    for start in starts:
        day = first_days.get(start)
        forecast_value = commit_value = None
        if day is not None:
            row: Row = said.get(day) or {}
            forecast_value = per_hundred(row.get("weighted_x100"))
            commit_value = row.get("commit") or Decimal(0)
        rows.append(
            AccuracyRow(
                period=periods.label(start, period),
                start=start,
                snapshot_day=day,
                forecast=forecast_value,
                commit=commit_value,
                won=won.get(start, Decimal(0)),
            )
        )
    return rows


def _first_snapshot_days(starts: list[dt.date], kind: str) -> dict[dt.date, dt.date]:
    """{period start: first day a snapshot was taken in that period}. Snapshots cover every open
    deal at once, so this is the same for everyone; one MIN() per period, each from the index."""
    if not starts:
        return {}
    table = ForecastSnapshot._meta.db_table
    # Only the table's name is interpolated; the days are parameters.
    part = f"(SELECT MIN(taken_on) FROM {table} WHERE taken_on BETWEEN %s AND %s)"  # noqa: S608
    params: list[dt.date] = []
    for start in starts:
        params += [start, periods.period_end(start, kind)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([part] * len(starts)), params)
        days = cursor.fetchone() or ()
    return {
        start: parse_day(day) for start, day in zip(starts, days, strict=True) if day is not None
    }


def _said_on(scope: Scope, first_days: dict[dt.date, dt.date], kind: str) -> dict[Any, Row]:
    """{snapshot day: the weighted forecast and commit of the open deals due in the period
    that day opens}, in one query over those days' snapshots."""
    if not first_days:
        return {}
    due_then = Q()
    for start, first_day in first_days.items():
        due_then |= Q(
            taken_on=first_day, expected_close_date__range=(start, periods.period_end(start, kind))
        )
    commit = Q(stage__is_commit=True) | Q(probability__gte=COMMIT_MIN_PROBABILITY)
    rows: QuerySet[Any, Row] = (
        scoped_snapshots(scope)
        .filter(due_then, status=Deal.Status.OPEN)
        .values("taken_on")
        .annotate(
            weighted_x100=Sum(F(MONEY) * F("probability"), output_field=PRODUCT),
            commit=Sum(MONEY, filter=commit),
        )
        .order_by()
    )
    return {row["taken_on"]: row for row in rows}


def won_by_period(scope: Scope, first: dt.date, last: dt.date, kind: str) -> dict[dt.date, Decimal]:
    start_at, end_at = day_bounds(first, last)
    rows: QuerySet[Any, Row] = (
        scoped_deals(scope)
        .filter(status=Deal.Status.WON, won_at__gte=start_at, won_at__lt=end_at)
        .annotate(bucket=trunc_period(kind)(TruncDate("won_at")))
        .values("bucket")
        .annotate(won=Sum(MONEY))
        .order_by()
    )
    return {parse_day(row["bucket"]): row["won"] or Decimal(0) for row in rows}
