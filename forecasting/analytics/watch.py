"""The watchlist: stalled deals, and open deals at risk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from currencies.selectors import rates_in_effect
from deals.models import Deal
from forecasting.analytics.probabilities import probability_expression
from forecasting.analytics.scope import MONEY, Scope, scoped_deals
from pipeline_crm.db import objects_for_each

WATCHLIST_LIMIT = 25
# What the watchlist shows and reasons from: a deal's other columns (some thirty) are not read.
WATCHED_FIELDS = (
    "title",
    "owner",
    "stage",
    "amount",
    "currency",
    "expected_close_date",
    "close_date_pushes",
    "stall_reasons",
)
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
    deals = scoped_deals(scope).annotate(prob=probability_expression())
    soon = today + dt.timedelta(days=AT_RISK_SOON_DAYS)
    stalled = _largest(scope, deals.filter(stalled=True).exclude(status=Deal.Status.LOST))
    at_risk = _largest(
        scope,
        deals.filter(status=Deal.Status.OPEN, stalled=False).filter(
            Q(expected_close_date__lt=today)
            | Q(close_date_pushes__gte=AT_RISK_PUSHES)
            | Q(expected_close_date__lte=soon, prob__lt=AT_RISK_LOW_PROBABILITY)
        ),
    )
    return {
        "stalled": [
            WatchedDeal(d, _prob(d), list(d.stall_reasons or []) or ["stalled"]) for d in stalled
        ],
        "at_risk": [WatchedDeal(d, _prob(d), _risk_reasons(d, today, soon)) for d in at_risk],
    }


def _largest(scope: Scope, deals: QuerySet[Deal]) -> list[Deal]:
    """The `WATCHLIST_LIMIT` largest of `deals` by amount in the scope's currency, with their
    owner and stage. A converted amount has no index to walk, but within one currency the
    order is the amount's: each currency's largest are walked from the amount indexes
    (migration deals 0016) and merged here; only the kept ones fetch their owner and stage."""
    currencies = [scope.currency] if scope.currency else sorted(rates_in_effect().per_unit)
    found = objects_for_each(
        [(code,) for code in currencies],
        lambda code: (
            deals.filter(currency=code)
            .only(*WATCHED_FIELDS)
            .order_by(F("amount").desc(nulls_last=True), "id")[:WATCHLIST_LIMIT]
        ),
    )
    # Largest converted amount first, deals without an amount last, then by id.
    found.sort(
        key=lambda deal: (getattr(deal, MONEY) is None, -(getattr(deal, MONEY) or 0), deal.pk)
    )
    kept = found[:WATCHLIST_LIMIT]
    prefetch_related_objects(kept, "owner", "stage")
    return kept


def _prob(deal: Deal) -> int | Decimal:
    """The probability annotated on a watched deal (percent)."""
    value: int | Decimal = deal.prob  # type: ignore[attr-defined]
    return value


def _risk_reasons(deal: Deal, today: dt.date, soon: dt.date) -> list[str]:
    reasons = []
    close = deal.expected_close_date
    if close and close < today:
        reasons.append("close date passed")
    if deal.close_date_pushes >= AT_RISK_PUSHES:
        reasons.append(f"close date pushed {deal.close_date_pushes}×")
    if close and today <= close <= soon and _prob(deal) < AT_RISK_LOW_PROBABILITY:
        reasons.append("closing soon at low probability")
    return reasons
