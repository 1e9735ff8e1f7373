"""The pipeline as it stood on a past day, meaning at the START of that day (00:00): what the
daily snapshot, taken just after midnight, records. From that day's snapshots, or rebuilt from
the deals' history up to the same instant: on PostgreSQL from the running counts triggers keep
of that rebuild (`forecasting.models.PipelineDay`, migration 0004), elsewhere by replaying the
history (`open_at_start_of`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf

from deals.models import Deal, FieldChange, Stage, StageChange, effective_probability
from forecasting.analytics.scope import (
    MONEY,
    PRODUCT,
    WEIGHABLE,
    WEIGHTED,
    Row,
    Scope,
    day_bounds,
    per_hundred,
    running_counts_kept,
    scoped_deals,
    scoped_pipeline_days,
    scoped_snapshots,
)


@dataclass
class StageSnapshot:
    stage_id: int | None
    name: str
    deals: int
    amount: Decimal
    weighted: Decimal


@dataclass
class PipelineAsOf:
    day: dt.date
    source: str  # "snapshot" (exact amounts that day) or "history" (stages from moves)
    stages: list[StageSnapshot]

    @property
    def total(self) -> Decimal:
        return sum((s.amount for s in self.stages), Decimal(0))

    @property
    def weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), Decimal(0))


def pipeline_as_of(scope: Scope, day: dt.date) -> PipelineAsOf:
    """Open deals per stage at the start of `day` (00:00, the instant the day's snapshot sees).

    From that day's snapshots when they exist (amounts, probabilities as they were); else rebuilt
    from history: the stage each deal had last entered before then (and that stage's
    probability), lost ones left out, today's amounts.
    """
    names = dict(Stage.objects.values_list("pk", "name"))
    rows = _as_of_from_snapshots(scope, day)
    source = "snapshot"
    if not rows:
        source, rows = "history", _as_of_from_history(scope, day)
    stages = [
        StageSnapshot(
            stage_id=row["stage"],
            name=names.get(row["stage"], "(deleted stage)"),
            deals=row["deals"],
            amount=row["total_amount"] or Decimal(0),
            weighted=per_hundred(row["weighted_x100"]),
        )
        for row in rows
    ]
    order = dict(Stage.objects.values_list("pk", "order"))
    stages.sort(key=lambda s: (order.get(s.stage_id or 0, 10**6), s.name))
    return PipelineAsOf(day=day, source=source, stages=stages)


def _per_stage(probability: str) -> dict[str, Any]:
    """A stage's open deals: how many, their amount, and Σ amount × `probability`."""
    return {
        "deals": Count("id"),
        "total_amount": Sum(MONEY),
        "weighted_x100": Sum(F(MONEY) * F(probability), output_field=PRODUCT),
    }


def _as_of_from_snapshots(scope: Scope, day: dt.date) -> list[Row]:
    """Per stage, the open deals of that day's snapshots, as they were then."""
    rows: QuerySet[Any, Row] = (
        scoped_snapshots(scope)
        .filter(taken_on=day, status=Deal.Status.OPEN)
        .values("stage")
        .annotate(**_per_stage("probability"))
        .order_by()
    )
    return list(rows)


def open_at_start_of(deals: QuerySet[Deal], day: dt.date) -> QuerySet[Any]:
    """Of `deals`, those open at the start of `day` as their history tells: created before then,
    last moved before then into an open stage, not lost by then. Annotated with `stage_then`,
    `prob` (that stage's probability, or the deal's override) and `close_then` (the expected
    close date then: the old value of its first change after, else today's). The one
    reconstruction, read here and written as snapshots by `services.snapshot_from_history`."""
    end, _ = day_bounds(day, day)  # the day's first instant: moves made during it come after
    last_stage = StageChange.objects.filter(deal=OuterRef("pk"), at__lt=end).order_by("-at", "-id")
    last_status = FieldChange.objects.filter(
        deal=OuterRef("pk"), field="status", at__lt=end
    ).order_by("-at", "-id")
    next_close = FieldChange.objects.filter(
        deal=OuterRef("pk"), field="expected_close_date", at__gte=end
    ).order_by("at", "id")
    close_then = Cast(NullIf(Subquery(next_close.values("old_value")[:1]), Value("")), DateField())
    open_stages = Stage.objects.filter(kind=Stage.Kind.OPEN).values("pk")
    # Deals won or lost before then (and not reopened since) need no history read.
    closed_before = Q(won_at__lt=end) | Q(lost_at__lt=end)
    return (
        deals.filter(created_at__lt=end)
        .exclude(closed_before)
        .annotate(
            stage_then=Subquery(last_stage.values("to_stage")[:1]),
            status_then=Subquery(last_status.values("new_value")[:1]),
            prob=effective_probability(Subquery(last_stage.values("to_stage__probability")[:1])),
            close_then=Coalesce(close_then, F("expected_close_date")),
        )
        .filter(stage_then__in=open_stages)
        .filter(Q(status_then__isnull=True) | ~Q(status_then=Deal.Status.LOST))
    )


def _as_of_from_history(scope: Scope, day: dt.date) -> list[Row]:
    """Per stage, the deals open at the start of `day` (`open_at_start_of`), weighted by the
    probability of the stage they were in: from the running counts where they are kept."""
    if running_counts_kept():
        return _as_of_from_running_counts(scope, day)
    return _as_of_replayed(scope, day)


def _as_of_replayed(scope: Scope, day: dt.date) -> list[Row]:
    """`_as_of_from_history` by replaying every deal's history up to the day."""
    rows: QuerySet[Any, Row] = (
        open_at_start_of(scoped_deals(scope), day)
        .values("stage_then")
        .annotate(**_per_stage("prob"))
        .order_by()
    )
    return [{**row, "stage": row["stage_then"]} for row in rows]


def _as_of_from_running_counts(scope: Scope, day: dt.date) -> list[Row]:
    """`_as_of_from_history` as the sum of the running counts up to `day` (stages still open
    and their current probabilities, like the replay)."""
    weighted = F(WEIGHABLE) * F("stage__probability") + F(WEIGHTED)
    rows: QuerySet[Any, Row] = (
        scoped_pipeline_days(scope)
        .filter(day__lte=day, stage__kind=Stage.Kind.OPEN)
        .values("stage")
        .annotate(
            open_deals=Sum("deals"),
            total_amount=Sum(MONEY),
            weighted_x100=Sum(weighted, output_field=PRODUCT),
        )
        .filter(open_deals__gt=0)
        .order_by()
    )
    return [{**row, "deals": row["open_deals"]} for row in rows]
