"""The watchlist: stalled deals, and open deals at risk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q
from django.utils import timezone

from deals.models import Deal
from forecasting.analytics.probabilities import probability_expression
from forecasting.analytics.scope import MONEY, Scope, scoped_deals

WATCHLIST_LIMIT = 25
AT_RISK_SOON_DAYS = 14
AT_RISK_LOW_PROBABILITY = 50
AT_RISK_PUSHES = 2


@dataclass
class WatchedDeal:
    deal: Deal
    probability: int | Decimal  # percent
    reasons: list[str]

    @property
    def amount(self) -> Decimal | None:
        """The deal's amount in the scope's currency (converted in a scope of every currency)."""
        value: Decimal | None = getattr(self.deal, MONEY, self.deal.amount)
        return value


def watchlist(scope: Scope, *, today: dt.date | None = None) -> dict[str, list[WatchedDeal]]:
    """Stalled deals, and open deals at risk: overdue close date, close date pushed back
    repeatedly, or closing soon at a low probability. Largest first."""
    today = today or timezone.localdate()
    base = (
        scoped_deals(scope)
        .annotate(prob=probability_expression())
        .select_related("owner", "stage", "company")
        .order_by(F(MONEY).desc(nulls_last=True), "id")
    )
    stalled = base.filter(stalled=True).exclude(status=Deal.Status.LOST)[:WATCHLIST_LIMIT]
    soon = today + dt.timedelta(days=AT_RISK_SOON_DAYS)
    at_risk = base.filter(status=Deal.Status.OPEN, stalled=False).filter(
        Q(expected_close_date__lt=today)
        | Q(close_date_pushes__gte=AT_RISK_PUSHES)
        | Q(expected_close_date__lte=soon, prob__lt=AT_RISK_LOW_PROBABILITY)
    )[:WATCHLIST_LIMIT]
    return {
        "stalled": [
            WatchedDeal(d, d.prob, list(d.stall_reasons or []) or ["stalled"]) for d in stalled
        ],
        "at_risk": [WatchedDeal(d, d.prob, _risk_reasons(d, today, soon)) for d in at_risk],
    }


def _risk_reasons(deal: Deal, today: dt.date, soon: dt.date) -> list[str]:
    reasons = []
    close = deal.expected_close_date
    if close and close < today:
        reasons.append("close date passed")
    if deal.close_date_pushes >= AT_RISK_PUSHES:
        reasons.append(f"close date pushed {deal.close_date_pushes}×")
    if close and today <= close <= soon and deal.prob < AT_RISK_LOW_PROBABILITY:  # type: ignore[attr-defined]
        reasons.append("closing soon at low probability")
    return reasons
