"""Pipeline movement since a day: deals created, advanced, slipped, won and lost."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from django.db.models import Count, DateField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, NullIf

from deals.models import Deal, FieldChange, StageChange
from forecasting.analytics.scope import (
    MONEY,
    Scope,
    day_bounds,
    running_counts_kept,
    scoped_deals,
    scoped_move_days,
    trunc_period,
    without_jit,
)
from pipeline_crm.db import is_postgresql


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
    slipped into a later period, won and lost, each deal once per move. One query: the running
    counts from that day on where PostgreSQL keeps them (`MoveDay`), else per move its deals'
    count and amount (`movement_deals`' conditions)."""
    if running_counts_kept():
        figures = _counted_moves(scope, since, period)
    else:
        figures = _scanned_moves(scope, since, period)
    return Movement(
        since=since,
        kind=period,
        counts={name: figures.get(name, (0, None))[0] for name in Movement.MOVES},
        amounts={name: figures.get(name, (0, None))[1] or Decimal(0) for name in Movement.MOVES},
    )


Figures = dict[str, tuple[int, Decimal | None]]  # per move: its deals, their amount


def _counted_moves(scope: Scope, since: dt.date, period: str) -> Figures:
    """`movement_since` from the running counts: the rows of `since` and after."""
    names = {"new": "new", "advanced": "advanced", f"slipped_{_period(period)}": "slipped"}
    names |= {"won": "won", "lost": "lost"}
    rows = (
        scoped_move_days(scope)
        .filter(day__gte=since, move__in=list(names))
        .values("move")
        .annotate(n=Sum("deals"), total=Sum(MONEY))
        .values_list("move", "n", "total")
        .order_by()
    )
    return {names[move]: (n, total) for move, n, total in rows}


def _scanned_moves(scope: Scope, since: dt.date, period: str) -> Figures:
    """`movement_since` from the deals: one aggregate per move, in one UNION ALL."""
    start, _ = day_bounds(since, since)
    deals = scoped_deals(scope)
    parts = [
        deals.filter(condition)
        .values(move=Value(name))
        .annotate(n=Count("id"), total=Sum(MONEY))
        .values_list("move", "n", "total")
        .order_by()
        for name, condition in _moves(start, period).items()
    ]
    with without_jit():
        rows = parts[0].union(*parts[1:], all=True).order_by()
        return {move: (n, total) for move, n, total in rows}


def _period(period: str) -> str:
    return "quarter" if period == "quarter" else "month"


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
    """Each move since `start`, as a condition on a deal: on PostgreSQL a range on the deal's
    own columns that triggers keep from its history (`Deal.advanced_at`, `slipped_*_at`),
    elsewhere read from the history."""
    if not is_postgresql():
        return _moves_in_history(start, period)
    slipped = f"slipped_{_period(period)}_at"
    return {
        "new": Q(created_at__gte=start),
        "advanced": Q(advanced_at__gte=start),
        "slipped": Q(**{f"{slipped}__gte": start}),
        "won": Q(status=Deal.Status.WON, won_at__gte=start),
        "lost": Q(status=Deal.Status.LOST, lost_at__gte=start),
    }


def _moves_in_history(start: dt.datetime, period: str) -> dict[str, Q]:
    """`_moves` from the history: the moves and close-date changes since `start` are read
    once each, as sets of deal ids (hashed), not looked up deal by deal."""
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
