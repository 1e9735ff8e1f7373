"""Formatting for the board and the deal page: money, short money, durations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def _symbol(currency: str | None) -> str:
    code = (currency or "USD").upper()
    return SYMBOLS.get(code, f"{code} ")


@register.filter
def money(value: Any, currency: str | None = "USD") -> str:
    """12500 → "$12,500"; 99.5 → "$99.50"; None → "—"."""
    amount = _as_decimal(value)
    if amount is None:
        return "—"
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{_symbol(currency)}{text}"


@register.filter
def money_short(value: Any, currency: str | None = "USD") -> str:
    """Compact figures for column headers: 1250 → "$1.3k", 2_400_000 → "$2.4M"."""
    amount = _as_decimal(value)
    if amount is None:
        return "—"
    for size, suffix in (
        (Decimal(1_000_000_000), "B"),
        (Decimal(1_000_000), "M"),
        (Decimal(1000), "k"),
    ):
        if abs(amount) >= size:
            scaled = amount / size
            text = f"{scaled:,.0f}" if scaled >= 100 else f"{scaled:,.1f}".replace(".0", "")
            return f"{_symbol(currency)}{text}{suffix}"
    return f"{_symbol(currency)}{amount:,.0f}"


@register.filter
def span(value: dt.timedelta | None) -> str:
    """A duration as people say it: "3 d", "5 h", "12 min", "—" for none."""
    if not value:
        return "—"
    seconds = int(value.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{max(seconds // 60, 1)} min"


@register.filter
def field_label(name: str) -> str:
    return str(name).replace("_", " ").capitalize()


@register.filter
def split_commas(value: str) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


@register.filter
def getfield(form: Any, name: str) -> Any:
    """The bound field `name` of a form (templates cannot index by a variable)."""
    return form[name]


@register.filter
def field_labels(names: list[str] | None) -> str:
    """["idle", "no_next_step"] → "Idle, No next step"."""
    return ", ".join(field_label(name) for name in names or [])


@register.filter
def clip(text: str, length: int = 40) -> str:
    """The text cut to `length` characters at most, an ellipsis ending a cut one."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@register.filter
def weighted(amount: Any, probability: Any) -> Decimal | None:
    """An amount at a win probability (in percent): 1000 at 55 → 550."""
    value, percent = _as_decimal(amount), _as_decimal(probability)
    if value is None or percent is None:
        return None
    return value * percent / 100


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def short_date(value: dt.date | dt.datetime, this_year: int | None = None) -> str:
    """ "Mar 14" in the current year (`this_year`, the current one when not given), "Mar 14,
    2027" in any other, in the current time zone. Read on every card, so without the `date`
    filter's translated formats."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    if this_year is None:
        this_year = timezone.localdate().year
    text = f"{MONTHS[value.month - 1]} {value.day}"
    return text if value.year == this_year else f"{text}, {value.year}"
