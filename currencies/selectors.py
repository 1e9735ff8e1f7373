"""The rates in effect and the one converter every total goes through (SPEC §9 Money).

`Rates` holds, for one day, the units of the reporting currency (`settings.DEFAULT_CURRENCY`)
per unit of each currency that has a rate by then (the reporting currency itself is always 1).
It converts in both places money is added up:
- in SQL: `Rates.expression()` / `converted_amount()`, a CASE on the currency (amounts in a
  currency without a rate convert to NULL, which SUM leaves out: report them with `unconverted`);
- in Python: `converted()`, for totals summed per currency (the board's headers), with the rate
  `Rates.per_unit` holds or the one `rate_in_effect()` read in the same query as the sums.

Which rate applies: the one in effect TODAY, for open and closed deals alike, so a figure of last
year and one of this month compare without exchange-rate noise and a total never depends on the
days its deals closed on. `rates_on(day)` gives the rates of another day.

`rates_in_effect()` is cached (one query a day, and after each change of a rate): a page that
adds up many figures asks for it as often as it likes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DecimalField,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from currencies.models import ExchangeRate
from pipeline_crm.request_context import forget_for_request, kept_for_request

# An amount (14 digits, 2 places) times a rate (6 places).
CONVERTED = DecimalField(max_digits=30, decimal_places=8)
RATE = DecimalField(max_digits=12, decimal_places=6)
CACHE_KEY = "currencies:rates-in-effect"
ONE = Decimal(1)


def reporting_currency() -> str:
    """The currency every total is given in: `settings.DEFAULT_CURRENCY`."""
    return str(settings.DEFAULT_CURRENCY)


@dataclass(frozen=True)
class Unconverted:
    """Deals a total left out: their currency has no exchange rate."""

    currency: str
    deals: int
    amount: Decimal


@dataclass(frozen=True)
class Rates:
    day: dt.date
    reporting: str
    per_unit: Mapping[str, Decimal] = field(default_factory=dict)

    def convert(self, amount: Decimal | int | None, currency: str) -> Decimal | None:
        """`amount` of `currency` in the reporting currency; None without a rate."""
        return converted(amount, currency, self.per_unit.get(currency))

    def expression(self, field: str = "amount", currency_field: str = "currency") -> Case:
        """SQL: the `field` of each row in the reporting currency (NULL without a rate)."""
        whens = [
            When(**{currency_field: code}, then=_times(F(field), rate))
            for code, rate in sorted(self.per_unit.items())
        ]
        return Case(*whens, default=Value(None), output_field=CONVERTED)


def converted(amount: Any, currency: str, rate: Decimal | None) -> Decimal | None:
    """`amount` of `currency` at `rate` in the reporting currency (rate 1 for the reporting
    currency itself); None when another currency has no rate."""
    if currency == reporting_currency():
        return Decimal(amount or 0)
    if rate is None:
        return None
    return Decimal(amount or 0) * rate


def rate_in_effect(currency_field: str = "currency", day: dt.date | None = None) -> Subquery:
    """SQL: the rate in effect on `day` (today) of the row's currency, read in the query that
    sums the amounts (no query of its own): NULL for the reporting currency (1, `converted`) and
    for a currency without a rate. The same rule as `rates_on`."""
    latest = ExchangeRate.objects.filter(
        currency=OuterRef(currency_field), valid_from__lte=day or timezone.localdate()
    ).order_by("-valid_from")
    return Subquery(latest.values("rate")[:1], output_field=RATE)


def _times(amount: Combinable, rate: Decimal) -> Combinable:
    """amount × rate, and the amount itself at rate 1 (exact on every database)."""
    return amount if rate == ONE else amount * Value(rate, output_field=CONVERTED)


def rates_on(day: dt.date) -> Rates:
    """The rate of each currency in effect on `day`: its latest rate valid from `day` or before."""
    per_unit: dict[str, Decimal] = {}
    rows = (
        ExchangeRate.objects.filter(valid_from__lte=day)
        .order_by("currency", "-valid_from")
        .values_list("currency", "rate")
    )
    for currency, rate in rows:
        per_unit.setdefault(currency, rate)
    reporting = reporting_currency()
    per_unit[reporting] = ONE
    return Rates(day=day, reporting=reporting, per_unit=per_unit)


def rates_in_effect() -> Rates:
    """Today's rates, from the cache when they were read today and no rate changed since; read
    once per request, so that every total of a page converts at the same rates (and a
    dashboard does not fetch them from the cache for each of its figures)."""
    return kept_for_request(CACHE_KEY, _cached_rates)


def _cached_rates() -> Rates:
    today = timezone.localdate()
    cached = cache.get(CACHE_KEY)
    if (
        isinstance(cached, Rates)
        and cached.day == today
        and cached.reporting == reporting_currency()
    ):
        return cached
    rates = rates_on(today)
    cache.set(CACHE_KEY, rates, timeout=24 * 3600)
    return rates


def converted_amount(field: str = "amount", currency_field: str = "currency") -> Case:
    """SQL: `field` converted to the reporting currency at today's rates (see module doc)."""
    return rates_in_effect().expression(field, currency_field)


def unconverted(
    records: QuerySet[Any],
    rates: Rates | None = None,
    *,
    count: Aggregate | None = None,
    amount: str = "amount",
) -> list[Unconverted]:
    """Per currency without a rate: how many of `records` (deals or snapshots, with `amount`
    and `currency`) a converted total leaves out, and their amount. One query. Running totals
    (one row per group of deals) say how to count (`count`, e.g. `Sum("deals")`) and which
    field holds the amounts; a currency whose count is 0 is not reported."""
    rates = rates or rates_in_effect()
    rows = (
        records.exclude(currency__in=list(rates.per_unit))
        .order_by()
        .values("currency")
        .annotate(n=count or Count("*"), total=Sum(amount))
        .filter(n__gt=0)
        .order_by("currency")
        .values_list("currency", "n", "total")
    )
    return [Unconverted(code, n, Decimal(total or 0)) for code, n, total in rows]


def merged(groups: Iterable[Iterable[Unconverted]]) -> list[Unconverted]:
    """Left-out deals of several totals, one entry per currency."""
    found: dict[str, Unconverted] = {}
    for group in groups:
        for item in group:
            before = found.get(item.currency)
            if before is not None:
                item = Unconverted(
                    item.currency, before.deals + item.deals, before.amount + item.amount
                )
            found[item.currency] = item
    return [found[code] for code in sorted(found)]


def forget_rates(**_: Any) -> None:
    """Empty the cached rates now and, should the change be rolled back or land later, at
    the end of its transaction."""
    forget_for_request(CACHE_KEY)
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def connect_cache_reset() -> None:
    post_save.connect(forget_rates, sender=ExchangeRate, dispatch_uid="currencies-rates-saved")
    post_delete.connect(forget_rates, sender=ExchangeRate, dispatch_uid="currencies-rates-gone")
