"""The funnel of one pipeline and the time deals spend in each stage, over a date range."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet

from deals.models import Deal, Pipeline, Stage, StageChange
from forecasting.analytics.closed_deals import closed_figures_of, closed_scope
from forecasting.analytics.flow_days import (
    FlowRow,
    closed_from_days,
    stage_flow_from_days,
)
from forecasting.analytics.scope import (
    SECONDS_PER_DAY,
    Row,
    Scope,
    day_bounds,
    money,
    rate,
    roomy_sort,
    running_counts_kept,
    scoped_deals,
)
from pipeline_crm.db import is_postgresql


@dataclass
class FunnelStage:
    stage_id: int
    name: str
    order: int
    kind: str
    entered: int = 0
    advanced: int = 0
    lost: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    stays: int = 0
    last: bool = False  # the pipeline's last stage: no next stage to convert to

    @property
    def has_next_stage(self) -> bool:
        return not self.last and self.kind != Stage.Kind.POST_SALE

    @property
    def conversion(self) -> float | None:
        """Share of the deals that entered and later reached a later stage; None (not
        applicable) for a post-sale or the last stage, which have no next stage."""
        return rate(self.advanced, self.entered) if self.has_next_stage else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage_id,
            "name": self.name,
            "entered": self.entered,
            "advanced": self.advanced,
            "conversion": self.conversion,
            "lost": self.lost,
            "median_days": self.median_days,
            "p90_days": self.p90_days,
        }


@dataclass
class Funnel:
    pipeline: Pipeline | None
    since: dt.date
    until: dt.date
    currency: str
    stages: list[FunnelStage]
    won: int
    lost: int
    open_deals: int
    average_deal_size: Decimal | None
    cycle_days: float | None
    velocity: Decimal | None
    lost_reasons: list[dict[str, Any]] = field(default_factory=list)
    lost_by_stage: list[dict[str, Any]] = field(default_factory=list)

    @property
    def win_rate(self) -> float | None:
        return rate(self.won, self.won + self.lost)

    @property
    def bottleneck(self) -> FunnelStage | None:
        """The stage where deals wait longest (by median time in stage)."""
        timed = [s for s in self.stages if s.median_days is not None]
        return max(timed, key=lambda s: s.median_days or 0) if timed else None

    def as_dict(self) -> dict[str, Any]:
        bottleneck = self.bottleneck
        return {
            "pipeline": self.pipeline.pk if self.pipeline else None,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "currency": self.currency,
            "stages": [s.as_dict() for s in self.stages],
            "win_rate": self.win_rate,
            "won": self.won,
            "lost": self.lost,
            "open_deals": self.open_deals,
            "average_deal_size": _money_or_none(self.average_deal_size),
            "cycle_days": self.cycle_days,
            "velocity": _money_or_none(self.velocity),
            "bottleneck": bottleneck.stage_id if bottleneck else None,
            "lost_reasons": self.lost_reasons,
            "lost_by_stage": self.lost_by_stage,
        }


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(money(value))


def funnel(
    scope: Scope,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Funnel:
    """Stage funnel of one pipeline over moves made between `since` and `until` (inclusive)."""
    _, since, until = closed_scope(scope, since, until)
    pipeline = scope.pipeline or Pipeline.default()
    stages = {
        s.pk: FunnelStage(s.pk, s.name, s.order, s.kind)
        for s in Stage.objects.filter(pipeline=pipeline).order_by("order")
    }
    if stages:
        stages[next(reversed(stages))].last = True
    deals = scoped_deals(scope).filter(pipeline=pipeline)
    _stage_flow(stages, scope, pipeline, deals, (since, until))
    lost_rows: Iterable[Row]
    if running_counts_kept() and pipeline is not None:
        closed, lost_rows = closed_from_days(scope, pipeline, list(stages), (since, until))
    else:
        closed = closed_figures_of(deals, since, until, pipeline)
        lost_rows = _lost_by_stage_and_reason(deals, *day_bounds(since, until))
    reasons, by_stage = _lost_reasons(stages, lost_rows)
    for key in ("win_rate", "since", "until", "pipeline"):
        closed.pop(key)
    return Funnel(
        pipeline=pipeline,
        since=since,
        until=until,
        currency=scope.currency_code,
        stages=list(stages.values()),
        lost_reasons=reasons,
        lost_by_stage=by_stage,
        **closed,
    )


def _lost_by_stage_and_reason(
    deals: QuerySet[Deal], start: dt.datetime, end: dt.datetime
) -> Iterable[Row]:
    """The deals lost in the range per stage they were lost in and reason of the list (one
    GROUP BY stage, reason in SQL): rows of stage, lost_reason__name, n."""
    return (
        deals.filter(status=Deal.Status.LOST, lost_at__gte=start, lost_at__lt=end)
        .values("stage", "lost_reason__name")
        .annotate(n=Count("id"))
        .order_by()
    )


def _lost_reasons(
    stages: dict[int, FunnelStage], lost_rows: Iterable[Row]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Count the lost deals on their stages. Returns the reasons overall, most frequent first,
    and the reasons per stage, in stage order then most frequent first ("" when none was
    given)."""
    by_reason: dict[str, int] = defaultdict(int)
    per_stage: list[tuple[int, int, str, str, int]] = []
    for row in lost_rows:
        reason = row["lost_reason__name"] or ""
        by_reason[reason] += row["n"]
        stage = stages.get(row["stage"])
        if stage is not None:
            stage.lost += row["n"]
            per_stage.append((stage.order, stage.stage_id, stage.name, reason, row["n"]))
    per_stage.sort(key=lambda item: (item[0], -item[4], item[3]))
    return [
        {"reason": reason, "count": count}
        for reason, count in sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    ], [
        {"stage": pk, "stage_name": name, "reason": reason, "count": count}
        for _, pk, name, reason, count in per_stage
    ]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Continuous percentile with linear interpolation, exactly as SQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value / SECONDS_PER_DAY, 1)


def _stage_flow(
    stages: dict[int, FunnelStage],
    scope: Scope,
    pipeline: Pipeline | None,
    deals: QuerySet[Deal],
    days: tuple[dt.date, dt.date],
) -> None:
    """Per stage, over entries made in the range: deals that entered, deals that later reached
    a later stage, and the median and 90th percentile of completed stays (a stay ends with the
    deal's next move, or when the deal was lost there). PostgreSQL reads the running counts
    (`flow_days`) unless the request's days are another time zone's than theirs."""
    if not stages or pipeline is None:
        return
    start, end = day_bounds(*days)
    if running_counts_kept():
        rows = stage_flow_from_days(list(stages), scope, pipeline, deals, days)
    elif is_postgresql():
        rows = _stage_flow_sql(list(stages), deals, start, end)
    else:
        rows = _stage_flow_python(stages, deals, start, end)
    for stage_id, entered, advanced, median, p90, stays in rows:
        stage = stages[stage_id]
        stage.entered, stage.advanced = entered, advanced
        stage.median_days, stage.p90_days, stage.stays = _days(median), _days(p90), stays


def _stage_flow_sql(
    stage_ids: list[int], deals: QuerySet[Deal], start: dt.datetime, end: dt.datetime
) -> list[FlowRow]:
    """PostgreSQL: every move knows when its stay ended, whether the deal went further and when
    the deal entered that stage before (StageChange.left_at, .advanced, .entered_before, kept
    by triggers), so this is one GROUP BY stage over the range's entries, read from a covering
    index. A deal counts once, at its first entry in the range (which went further if any of
    its entries there did: every later move follows it too); one percentile_cont() gives both
    quantiles."""
    deal_sql, deal_params = deals.values("pk").query.sql_with_params()
    sql = f"""
        SELECT sc.to_stage_id,
               COUNT(*) FILTER (WHERE stay.first_entry),
               COUNT(*) FILTER (WHERE stay.first_entry AND sc.advanced),
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY stay.seconds),
               COUNT(stay.seconds)
        FROM {StageChange._meta.db_table} sc
        CROSS JOIN LATERAL (
            SELECT EXTRACT(EPOCH FROM (sc.left_at - sc.at))::float8 AS seconds,
                   sc.entered_before IS NULL OR sc.entered_before < %s AS first_entry
        ) AS stay
        WHERE sc.to_stage_id = ANY(%s) AND sc.at >= %s AND sc.at < %s
          AND sc.deal_id IN ({deal_sql})
        GROUP BY sc.to_stage_id
    """  # noqa: S608 - table names and the ORM's own SQL; every value is a parameter
    with roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, [start, stage_ids, start, end, *deal_params])
        return [
            (stage_id, entered, advanced, *(quantiles or (None, None)), stays)
            for stage_id, entered, advanced, quantiles, stays in cursor.fetchall()
        ]


@dataclass
class _Stays:
    """What the Python walk collects per stage id."""

    entered: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    advanced: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    durations: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def rows(self) -> list[FlowRow]:
        return [
            (
                stage_id,
                len(deal_ids),
                len(self.advanced[stage_id]),
                percentile(self.durations[stage_id], 0.5),
                percentile(self.durations[stage_id], 0.9),
                len(self.durations[stage_id]),
            )
            for stage_id, deal_ids in self.entered.items()
        ]


def _stage_flow_python(
    stages: dict[int, FunnelStage], deals: QuerySet[Deal], start: dt.datetime, end: dt.datetime
) -> list[FlowRow]:
    """Fallback for databases without percentile_cont (SQLite): the same rules, walked in Python
    over the histories of the deals that moved in the range, each deal's moves latest first."""
    rows = list(
        StageChange.objects.filter(deal__in=deals.values("pk"), at__gte=start)
        .order_by("deal_id", "at", "id")
        .values_list("deal_id", "to_stage_id", "at", "deal__lost_at")
    )
    stays = _Stays()
    later_order: int | None = None
    for index in range(len(rows) - 1, -1, -1):
        deal_id, stage_id, entered_at, lost_at = rows[index]
        following = rows[index + 1] if index + 1 < len(rows) else None
        if following is None or following[0] != deal_id:
            later_order, left_at = None, lost_at
        else:
            left_at = following[2]
        stage = stages.get(stage_id) if stage_id is not None else None
        if stage is None:
            continue
        if start <= entered_at < end:
            stays.entered[stage.stage_id].add(deal_id)
            if later_order is not None and later_order > stage.order:
                stays.advanced[stage.stage_id].add(deal_id)
            if left_at is not None:
                stays.durations[stage.stage_id].append((left_at - entered_at).total_seconds())
        later_order = max(later_order or 0, stage.order)
    return stays.rows()
