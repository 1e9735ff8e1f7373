"""How every page shows a number: money, percents, days and counts, in one place.

`{% load figures %}` then `{{ amount|money:currency }}`, `{{ 0.2593|percent }}` ("25.9 %"),
`{{ 55|percent_points }}` ("55 %"), `{{ 12.5|days }}` ("12.5 days"), `{{ 1234|count }}`.
Separators and grouping follow the active language through Django's `number_format` (so a page
and its charts, which read the same language from `data-locale`, agree); a missing figure
reads "—". CSV files never come through here: they keep the raw figures.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import get_format, number_format
from django.utils.translation import get_language

register = template.Library()

NONE = "—"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def as_decimal(value: Any) -> Decimal | None:
    """`value` as a finite Decimal, or None when it is missing or not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def grouped(value: Decimal, places: int) -> str:
    """`value` rounded half up to `places` decimals, with the active language's separators and
    grouping."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    separators = _thousands_separators(get_language())
    if separators is None:
        return number_format(rounded, decimal_pos=places, force_grouping=True)
    # Python's own grouping ("1,234.5"), its separators then swapped for the language's: what
    # `number_format` gives for groups of three, in a fraction of its time (a table of fifty
    # deals formats a hundred figures).
    return f"{rounded:,.{places}f}".translate(separators)


@functools.cache
def _thousands_separators(language: str | None) -> dict[int, str] | None:
    """For a language that groups digits by three: the `str.translate` table from Python's
    separators to its own; None for another grouping (none, or uneven groups), left to
    `number_format`."""
    if get_format("NUMBER_GROUPING", language) != 3:
        return None
    decimal, thousands = (
        get_format(name, language) for name in ("DECIMAL_SEPARATOR", "THOUSAND_SEPARATOR")
    )
    return str.maketrans({",": str(thousands), ".": str(decimal)})


def _symbol(currency: str | None) -> str:
    code = (currency or "USD").upper()
    return SYMBOLS.get(code, f"{code} ")


def _signed(amount: Decimal, text: str, currency: str | None) -> str:
    """The currency before the figure, a minus sign before both: "-$1,200"."""
    return f"{'-' if amount < 0 else ''}{_symbol(currency)}{text}"


@register.filter
def money(value: Any, currency: str | None = "USD") -> str:
    """12500 → "$12,500"; 99.5 → "$99.50"; -40 → "-$40"; 5 SEK → "SEK 5"; None → "—"."""
    amount = as_decimal(value)
    if amount is None:
        return NONE
    places = 0 if amount == amount.to_integral_value() else 2
    return _signed(amount, grouped(abs(amount), places), currency)


@register.filter
def money_short(value: Any, currency: str | None = "USD") -> str:
    """Compact figures for column headers: 1250 → "$1.3k", 2_400_000 → "$2.4M"."""
    amount = as_decimal(value)
    if amount is None:
        return NONE
    size = abs(amount)
    for unit, suffix in (
        (Decimal(1_000_000_000), "B"),
        (Decimal(1_000_000), "M"),
        (Decimal(1000), "k"),
    ):
        if size >= unit:
            scaled = (size / unit).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            places = 0 if scaled >= 100 or scaled == scaled.to_integral_value() else 1
            return _signed(amount, grouped(scaled, places) + suffix, currency)
    return _signed(amount, grouped(size, 0), currency)


def _one_place(number: Decimal) -> str:
    """One decimal, none when it would be ".0": 12.5 → "12.5", 15.0 → "15"."""
    rounded = number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return grouped(rounded, 0 if rounded == rounded.to_integral_value() else 1)


@register.filter
def percent(value: Any) -> str:
    """A share 0–1 as a percent with one decimal: 0.2593 → "25.9 %", 1.0956 → "109.6 %"."""
    share = as_decimal(value)
    return NONE if share is None else f"{grouped(share * 100, 1)} %"


@register.filter
def percent_points(value: Any) -> str:
    """A figure already in percent (a probability): 55 → "55 %", 37.5 → "37.5 %"."""
    points = as_decimal(value)
    return NONE if points is None else f"{_one_place(points)} %"


@register.filter
def days(value: Any) -> str:
    """A number of days with one decimal at most: 12.5 → "12.5 days", 1 → "1 day"."""
    number = as_decimal(value)
    if number is None:
        return NONE
    return f"{_one_place(number)} {'day' if number == 1 else 'days'}"


@register.filter
def count(value: Any) -> str:
    """A whole number with grouping: 12500 → "12,500"."""
    number = as_decimal(value)
    return NONE if number is None else grouped(number, 0)


@register.simple_tag
def number_locale() -> str:
    """The language numbers are formatted in, for `Intl.NumberFormat` in the browser ("en-US")."""
    language, _, region = (get_language() or "en").partition("-")
    return f"{language}-{region.upper()}" if region else language
