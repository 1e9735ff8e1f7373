"""STAND-IN for the `learned` helper's model (deleted when wip-learned is merged)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q

from deals.models import Deal, Pipeline, StageChange


@dataclass
class LearnedModel:
    rates: dict[int, tuple[int, int]] = field(default_factory=dict)

    def probability(self, *, stage_id: int, owner_id: int | None) -> float:
        won, closed = self.rates.get(stage_id, (0, 0))
        return (won + 1) / (closed + 4)

    def behind(self, *, stage_id: int, owner_id: int | None) -> int:
        return self.rates.get(stage_id, (0, 0))[1]

    def period_shares(self, *, stage_id: int, kind: str, count: int) -> list[float]:
        return [0.7, *([0.3 / count] * count)]


def learn_model(
    *, pipeline: Pipeline | None = None, as_of: dt.datetime | None = None
) -> LearnedModel:
    closed = Q(deal__won_at__lt=as_of) | Q(deal__lost_at__lt=as_of) if as_of else Q()
    rows = (
        StageChange.objects.filter(closed, deal__status__in=[Deal.Status.WON, Deal.Status.LOST])
        .values("to_stage")
        .annotate(
            closed=Count("deal", distinct=True),
            won=Count("deal", distinct=True, filter=Q(deal__status=Deal.Status.WON)),
        )
    )
    return LearnedModel({r["to_stage"]: (r["won"], r["closed"]) for r in rows if r["to_stage"]})
