"""Per-rep figures: open pipeline, weighted, won this period against quota, win rate, stalls."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from deals.models import Deal
from forecasting import periods
from forecasting.analytics.closed_deals import closed_day_sums, default_funnel_range
from forecasting.analytics.learning import LearnedModel, learn_model
from forecasting.analytics.probabilities import probability_expression, stage_probability
from forecasting.analytics.quotas import AgainstQuota, sum_quota
from forecasting.analytics.scope import (
    MONEY,
    PRODUCT,
    Row,
    Scope,
    amount_of,
    day_bounds,
    per_hundred,
    rate,
    running_counts_kept,
    scoped_closed_days,
    scoped_column_totals,
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
    closed_days = (since or default_since, until or default_until)
    current = periods.period_start(today, period)
    period_days = (current, periods.period_end(current, period))
    learned = learn_model(timing=False) if probabilities == "learned" else None
    if running_counts_kept():
        rows = _rows_from_running_totals(scope, learned, period_days, closed_days)
    else:
        rows = list(
            scoped_deals(scope)
            .annotate(prob=probability_expression(learned))
            .values(*OWNER_NAMES)
            .annotate(**_rep_aggregates(day_bounds(*period_days), day_bounds(*closed_days)))
            .order_by()
        )
    reps = [_rep(row) for row in rows]
    _add_quotas(reps, current, period, viewer=scope.user)
    return sorted(reps, key=lambda r: (-r.weighted, r.name))


def _rep_aggregates(
    period_range: tuple[dt.datetime, dt.datetime], closed_range: tuple[dt.datetime, dt.datetime]
) -> dict[str, Any]:
    """Per owner: open deals and their amounts over the `prob` annotation, deals won in the
    period, deals closed in the range (for the win rate), stalled deals."""
    is_open = Q(status=Deal.Status.OPEN)
    won_now = Q(status=Deal.Status.WON, won_at__gte=period_range[0], won_at__lt=period_range[1])
    range_start, range_end = closed_range
    return {
        "open_deals": Count("id", filter=is_open),
        "pipeline": Sum(MONEY, filter=is_open),
        "weighted_x100": Sum(F(MONEY) * F("prob"), filter=is_open, output_field=PRODUCT),
        "won": Sum(MONEY, filter=won_now),
        "won_deals": Count("id", filter=won_now),
        "closed_won": Count(
            "id", filter=Q(status=Deal.Status.WON, won_at__gte=range_start, won_at__lt=range_end)
        ),
        "closed_lost": Count(
            "id",
            filter=Q(status=Deal.Status.LOST, lost_at__gte=range_start, lost_at__lt=range_end),
        ),
        "stalled": Count("id", filter=Q(stalled=True) & ~Q(status=Deal.Status.LOST)),
    }


OWNER_NAMES = ("owner", "owner__username", "owner__first_name", "owner__last_name")


def _rows_from_running_totals(
    scope: Scope,
    learned: LearnedModel | None,
    period: tuple[dt.date, dt.date],
    closed: tuple[dt.date, dt.date],
) -> list[dict[str, Any]]:
    """PostgreSQL: `_rep_aggregates`' figures per owner from the running totals instead of the
    deals: open deals, pipeline and weighted from the board's column totals (which also say
    which owners have deals in scope), won and closed deals from the closed deals' day sums,
    and the stalled deals counted (few, on a partial index). Three queries."""
    is_open = Q(status=Deal.Status.OPEN)
    totals = scoped_column_totals(scope)
    if scope.pipeline is not None:
        totals = totals.filter(stage__pipeline=scope.pipeline)
    weighted = amount_of(scope, "override_weighted") + amount_of(
        scope, "amount_without_override"
    ) * stage_probability(learned)
    rows = (
        totals.values(*OWNER_NAMES)
        .annotate(
            all_deals=Sum("deals"),
            open_deals=Coalesce(Sum("deals", filter=is_open), 0),
            pipeline=Sum(amount_of(scope, "amount_sum"), filter=is_open),
            weighted_x100=Sum(weighted, filter=is_open, output_field=PRODUCT),
        )
        .order_by()
    )
    closed_sums = _closed_per_owner(scope, period, closed)
    stalled = dict(
        scoped_deals(scope)
        .filter(stalled=True)
        .exclude(status=Deal.Status.LOST)
        .values("owner")
        .annotate(n=Count("*"))  # from deal_stalled_owner_idx alone: no id
        .values_list("owner", "n")
    )
    zero = {"won": None, "won_deals": 0, "closed_won": 0, "closed_lost": 0}
    return [
        {
            **row,
            **closed_sums.get(row["owner"], zero),
            "open_deals": int(row["open_deals"]),  # sums of bigint columns come back as numeric
            "stalled": stalled.get(row["owner"], 0),
        }
        for row in rows
        if row["all_deals"]
    ]


def _closed_per_owner(
    scope: Scope, period: tuple[dt.date, dt.date], closed: tuple[dt.date, dt.date]
) -> dict[int, dict[str, Any]]:
    """Per owner: won amount and deals in the period, deals won and lost in the closed range."""
    in_period = Q(status=Deal.Status.WON, day__gte=period[0], day__lte=period[1])
    sums = closed_day_sums(*closed, None)  # the closed-deal cards' and the funnel's rule
    rows = (
        scoped_closed_days(scope)
        .filter(day__gte=min(period[0], closed[0]), day__lte=max(period[1], closed[1]))
        .values("owner")
        .annotate(
            won=Sum(MONEY, filter=in_period),
            won_deals=Coalesce(Sum("deals", filter=in_period), 0),
            closed_won=Coalesce(sums["c_won"], 0),
            closed_lost=Coalesce(sums["c_lost"], 0),
        )
        .order_by()
    )
    return {
        row["owner"]: {  # sums of bigint columns come back as numeric
            "won": row["won"],
            "won_deals": int(row["won_deals"]),
            "closed_won": int(row["closed_won"]),
            "closed_lost": int(row["closed_lost"]),
        }
        for row in rows
    }


def _rep(row: Row) -> RepFigures:
    names = (row["owner__first_name"], row["owner__last_name"])
    return RepFigures(
        owner_id=row["owner"],
        name=" ".join(p for p in names if p) or row["owner__username"],
        open_deals=row["open_deals"],
        pipeline=row["pipeline"] or Decimal(0),
        weighted=per_hundred(row["weighted_x100"]),
        won=row["won"] or Decimal(0),
        won_deals=row["won_deals"],
        closed_won=row["closed_won"],
        closed_lost=row["closed_lost"],
        stalled=row["stalled"],
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
