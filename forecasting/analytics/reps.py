"""Per-rep figures: open pipeline, weighted, won this period against quota, win rate, stalls."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from deals.models import Deal
from forecasting import periods
from forecasting.analytics.closed_deals import default_funnel_range
from forecasting.analytics.probabilities import learned_percents, probability_expression
from forecasting.analytics.quotas import AgainstQuota, sum_quota
from forecasting.analytics.scope import (
    PRODUCT,
    Row,
    Scope,
    day_bounds,
    per_hundred,
    rate,
    scoped_deals,
)
from forecasting.models import Quota


@dataclass
class RepFigures(AgainstQuota):
    owner_id: int
    name: str
    open_deals: int
    pipeline: Decimal
    weighted: Decimal
    won: Decimal
    won_deals: int
    closed_won: int
    closed_lost: int
    stalled: int
    quota: Decimal | None = None

    @property
    def win_rate(self) -> float | None:
        return rate(self.closed_won, self.closed_won + self.closed_lost)


def rep_figures(
    scope: Scope,
    *,
    period: str = "month",
    probabilities: str = "configured",
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> list[RepFigures]:
    """Per owner: open pipeline, weighted, won this period vs quota, win rate, stalled deals."""
    today = today or timezone.localdate()
    default_since, default_until = default_funnel_range(today)
    closed_range = day_bounds(since or default_since, until or default_until)
    current = periods.period_start(today, period)
    period_range = day_bounds(current, periods.period_end(current, period))
    learned = learned_percents(scope) if probabilities == "learned" else None
    deals = scoped_deals(scope)
    figures: dict[int, dict[str, Any]] = defaultdict(dict)
    for part in _rep_parts(deals, learned, period_range, closed_range):
        for row in part:
            figures[row.pop("owner")].update(row)
    owners = (
        User.objects.filter(Exists(deals.filter(owner=OuterRef("pk"))))
        .values("pk", "username", "first_name", "last_name")
        .order_by()
    )
    reps = [_rep(owner, figures[owner["pk"]]) for owner in owners]
    _add_quotas(reps, current, period, viewer=scope.user)
    return sorted(reps, key=lambda r: (-r.weighted, r.name))


def _rep_parts(
    deals: QuerySet[Deal],
    learned: dict[int, Decimal] | None,
    period_range: tuple[dt.datetime, dt.datetime],
    closed_range: tuple[dt.datetime, dt.datetime],
) -> list[QuerySet[Deal, dict[str, Any]]]:
    """Per owner, one query a status, each reading only its own deals (the partial indexes of
    open, won and lost deals, and of stalled ones): open deals and their amounts over the
    `prob` annotation; deals won in the period, and won in the range (for the win rate); deals
    lost in the range; stalled deals."""
    won_now = Q(won_at__gte=period_range[0], won_at__lt=period_range[1])
    won_in_range = Q(won_at__gte=closed_range[0], won_at__lt=closed_range[1])
    by_owner = deals.values("owner").order_by()
    return [
        deals.filter(status=Deal.Status.OPEN)
        .annotate(prob=probability_expression(learned))
        .values("owner")
        .order_by()
        .annotate(
            open_deals=Count("id"),
            pipeline=Sum("amount"),
            weighted_x100=Sum(F("amount") * F("prob"), output_field=PRODUCT),
        ),
        by_owner.filter(Q(status=Deal.Status.WON) & (won_now | won_in_range)).annotate(
            won=Sum("amount", filter=won_now),
            won_deals=Count("id", filter=won_now),
            closed_won=Count("id", filter=won_in_range),
        ),
        by_owner.filter(
            status=Deal.Status.LOST, lost_at__gte=closed_range[0], lost_at__lt=closed_range[1]
        ).annotate(closed_lost=Count("id")),
        by_owner.filter(stalled=True)
        .exclude(status=Deal.Status.LOST)
        .annotate(stalled=Count("id")),
    ]


def _rep(owner: Row, row: Row) -> RepFigures:
    names = (owner["first_name"], owner["last_name"])
    return RepFigures(
        owner_id=owner["pk"],
        name=" ".join(p for p in names if p) or owner["username"],
        open_deals=row.get("open_deals", 0),
        pipeline=row.get("pipeline") or Decimal(0),
        weighted=per_hundred(row.get("weighted_x100")),
        won=row.get("won") or Decimal(0),
        won_deals=row.get("won_deals", 0),
        closed_won=row.get("closed_won", 0),
        closed_lost=row.get("closed_lost", 0),
        stalled=row.get("stalled", 0),
    )


def _add_quotas(reps: list[RepFigures], current: dt.date, kind: str, *, viewer: User) -> None:
    """Each rep's own quota for the current period, where `viewer` may see it (one query for
    all of them)."""
    quotas: QuerySet[Quota] = Quota.objects.visible_to(viewer).filter(
        user__in=[r.owner_id for r in reps],
        period_start__gte=periods.period_start(current, "quarter"),
        period_start__lte=periods.period_end(current, kind),
    )
    by_user: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas:
        if quota.user_id is not None:
            by_user[quota.user_id].append(quota)
    for rep in reps:
        rep.quota = sum_quota(by_user.get(rep.owner_id, []), current, kind)
