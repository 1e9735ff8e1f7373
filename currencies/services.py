"""Admins keep the exchange rates (SPEC §9 Money): add a currency's rate from a day on, or
delete one. The reporting currency has no rate of its own: it is always 1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.visibility import require_admin
from currencies.codes import ISO_4217
from currencies.models import ExchangeRate
from currencies.selectors import reporting_currency
from pipeline_crm.errors import DomainError

ADMINS_ONLY = "Only admins keep the exchange rates."
MAX_RATE = Decimal("999999.999999")


def _checked_currency(currency: str) -> str:
    if currency not in ISO_4217:
        raise DomainError(
            "Use a three-letter ISO 4217 code in capitals, e.g. EUR.", field="currency"
        )
    if currency == reporting_currency():
        raise DomainError(
            f"{currency} is the reporting currency: its rate is always 1.", field="currency"
        )
    return currency


def _checked_rate(rate: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(rate))
    except InvalidOperation as bad:
        raise DomainError("The rate is a number.", field="rate") from bad
    if not value.is_finite() or value <= 0:
        raise DomainError("The rate is more than 0.", field="rate")
    if value > MAX_RATE or value != value.quantize(Decimal("0.000001")):
        raise DomainError("Give the rate below 1,000,000 with at most 6 decimals.", field="rate")
    return value


@transaction.atomic
def set_rate(
    *, by: User, currency: str, rate: Decimal | int | str, valid_from: dt.date
) -> ExchangeRate:
    """A new rate of `currency` (units of the reporting currency per unit), from `valid_from`
    until its next rate. One rate a currency a day."""
    require_admin(by, ADMINS_ONLY)
    entry = ExchangeRate(
        currency=_checked_currency(currency), rate=_checked_rate(rate), valid_from=valid_from
    )
    taken = "This currency already has a rate from this day: delete it first."
    if ExchangeRate.objects.filter(currency=entry.currency, valid_from=valid_from).exists():
        raise DomainError(taken, field="valid_from")
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as clash:  # a concurrent twin
        raise DomainError(taken, field="valid_from") from clash
    return entry


@transaction.atomic
def delete_rate(*, by: User, rate: ExchangeRate) -> None:
    """Remove a rate: the currency's previous rate (if any) applies again from its day."""
    require_admin(by, ADMINS_ONLY)
    ExchangeRate.objects.filter(pk=rate.pk).delete()
