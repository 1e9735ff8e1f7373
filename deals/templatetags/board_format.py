"""Formatting for the board and the deal page: durations, labels, dates (money: `figures`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone

from pipeline_crm.templatetags.figures import as_decimal, money, money_short

register = template.Library()

# Money is shown the same way on every page: one definition, in pipeline_crm's `figures`.
register.filter("money", money)
register.filter("money_short", money_short)


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
    value, percent = as_decimal(amount), as_decimal(probability)
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
