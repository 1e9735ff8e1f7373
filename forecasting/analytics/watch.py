"""The watchlist: stalled deals, and open deals at risk."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from currencies.selectors import rates_in_effect
from deals.models import Deal
from forecasting.analytics.probabilities import probability_expression
from forecasting.analytics.scope import Scope, scoped_deals
from pipeline_crm.db import values_for_each

WATCHLIST_LIMIT = 25


class _Row(NamedTuple):
    """What the watchlist shows and reasons from, as read: its fields are the columns, in one
    statement with the owner's and the stage's names (a deal's other thirty columns are not
    read, no model object is made). `money` is scoped_deals' MONEY: the amount in the scope's
    currency."""

    pk: int
    title: str
    owner__first_name: str
    owner__last_name: str
    owner__username: str
    stage__name: str
    money: Decimal | None
    currency: str
    expected_close_date: dt.date | None
    close_date_pushes: int
    stall_reasons: list[str] | None
    prob: int | Decimal


AT_RISK_SOON_DAYS = 14
AT_RISK_LOW_PROBABILITY = 50
AT_RISK_PUSHES = 2


@dataclass(frozen=True)
class WatchedDeal:
    deal_id: int
    title: str
    owner: str
    stage: str
    amount: Decimal | None  # in the scope's currency (converted in a scope of every currency)
    currency: str  # the deal's own
    expected_close_date: dt.date | None
    probability: int | Decimal  # percent
    reasons: list[str]


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
        "stalled": [_watched(row, list(row.stall_reasons or []) or ["stalled"]) for row in stalled],
        "at_risk": [_watched(row, _risk_reasons(row, today, soon)) for row in at_risk],
    }


def _largest(scope: Scope, deals: QuerySet[Deal]) -> list[_Row]:
    """The `WATCHLIST_LIMIT` largest of `deals` by amount in the scope's currency. A converted
    amount has no index to walk, but within one currency the order is the amount's: each
    currency's largest are walked from the amount indexes (migration deals 0016) and merged
    here."""
    currencies = [scope.currency] if scope.currency else sorted(rates_in_effect().per_unit)
    found = [
        _Row(*row)
        for row in values_for_each(
            [(code,) for code in currencies],
            lambda code: (
                deals.filter(currency=code)
                .order_by(F("amount").desc(nulls_last=True), "id")
                .values_list(*_Row._fields)[:WATCHLIST_LIMIT]
            ),
        )
    ]
    # Largest converted amount first, deals without an amount last, then by id.
    found.sort(key=lambda row: (row.money is None, -(row.money or 0), row.pk))
    return found[:WATCHLIST_LIMIT]


def _watched(row: _Row, reasons: list[str]) -> WatchedDeal:
    return WatchedDeal(
        deal_id=row.pk,
        title=row.title,
        owner=_owner_name(row.owner__first_name, row.owner__last_name, row.owner__username),
        stage=row.stage__name,
        amount=row.money,
        currency=row.currency,
        expected_close_date=row.expected_close_date,
        probability=row.prob,
        reasons=reasons,
    )


@functools.lru_cache(maxsize=1024)
def _owner_name(first_name: str, last_name: str, username: str) -> str:
    """The owner's name as everywhere else (`User.__str__`), from the columns read (kept by
    the columns themselves, so a renamed user reads anew: a few owners fill a list of 50)."""
    return str(User(first_name=first_name, last_name=last_name, username=username))


def _risk_reasons(deal: _Row, today: dt.date, soon: dt.date) -> list[str]:
    reasons = []
    close = deal.expected_close_date
    if close and close < today:
        reasons.append("close date passed")
    if deal.close_date_pushes >= AT_RISK_PUSHES:
        reasons.append(f"close date pushed {deal.close_date_pushes}×")
    if close and today <= close <= soon and deal.prob < AT_RISK_LOW_PROBABILITY:
        reasons.append("closing soon at low probability")
    return reasons
