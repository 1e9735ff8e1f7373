"""Pipeline movement since a day: deals created, advanced, slipped, won and lost."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.db.models import Count, DateField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, NullIf

from deals.models import Deal, FieldChange, StageChange
from forecasting.analytics.scope import (
    MONEY,
    Scope,
    day_bounds,
    scoped_deals,
    trunc_period,
    without_jit,
)


@dataclass
class Movement:
    since: dt.date
    kind: str
    counts: dict[str, int]
    amounts: dict[str, Decimal]

    MOVES: ClassVar[tuple[str, ...]] = ("new", "advanced", "slipped", "won", "lost")

    def rows(self) -> list[tuple[str, int, Decimal]]:
        return [(name, self.counts[name], self.amounts[name]) for name in self.MOVES]


def movement_since(scope: Scope, since: dt.date, *, period: str = "month") -> Movement:
    """What changed since `since`: deals created, advanced to a later stage, whose close date
    slipped into a later period, won and lost. One query."""
    start, _ = day_bounds(since, since)
    conditions = _moves(start, period)
    aggregates: dict[str, Any] = {}
    for name, condition in conditions.items():
        aggregates[f"{name}_count"] = Count("id", filter=condition)
        aggregates[f"{name}_amount"] = Sum(MONEY, filter=condition)
    with without_jit():
        figures = scoped_deals(scope).aggregate(**aggregates)
    return Movement(
        since=since,
        kind=period,
        counts={name: figures[f"{name}_count"] for name in conditions},
        amounts={name: figures[f"{name}_amount"] or Decimal(0) for name in conditions},
    )


MOVE_TITLES = {
    "new": "New deals",
    "advanced": "Moved to a later stage",
    "slipped": "Close date pushed into a later period",
    "won": "Won",
    "lost": "Lost",
}


def movement_deals(
    scope: Scope, since: dt.date, *, move: str, period: str = "month"
) -> QuerySet[Deal]:
    """The deals behind one figure of `movement_since` (the same condition, so their number is
    the figure's count), most recently changed first. Unknown moves raise ValueError."""
    if move not in Movement.MOVES:
        raise ValueError(f"Unknown move {move!r}: choose one of {', '.join(Movement.MOVES)}.")
    start, _ = day_bounds(since, since)
    return (
        scoped_deals(scope)
        .filter(_moves(start, period)[move])
        .select_related("owner", "stage")
        .order_by("-updated_at", "-id")
    )


def _moves(start: dt.datetime, period: str) -> dict[str, Q]:
    """Each move since `start`, as a condition on a deal. The moves and close-date changes are
    read once each, as sets of deal ids (hashed), not looked up deal by deal."""
    advanced = StageChange.objects.filter(
        at__gte=start,
        from_stage__isnull=False,
        to_stage__order__gt=F("from_stage__order"),
        to_stage__pipeline=F("from_stage__pipeline"),
    )
    trunc = trunc_period(period)
    slipped = (
        FieldChange.objects.filter(field="expected_close_date", at__gte=start)
        .annotate(
            old_period=trunc(Cast(NullIf("old_value", Value("")), DateField())),
            new_period=trunc(Cast(NullIf("new_value", Value("")), DateField())),
        )
        .filter(new_period__gt=F("old_period"))
        .values("deal_id")
    )
    return {
        "new": Q(created_at__gte=start),
        "advanced": Q(pk__in=advanced.values("deal_id")),
        "slipped": Q(pk__in=slipped),
        "won": Q(status=Deal.Status.WON, won_at__gte=start),
        "lost": Q(status=Deal.Status.LOST, lost_at__gte=start),
    }
