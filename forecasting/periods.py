"""Calendar periods (months and quarters): their first day, label and neighbours."""

from __future__ import annotations

import datetime as dt
from typing import Literal

PeriodKind = Literal["month", "quarter"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("month", "quarter")

# How many periods the forecast shows by default: a couple behind (actuals beside the
# forecast) and a few ahead (what is coming).
DEFAULT_WINDOW: dict[str, tuple[int, int]] = {"month": (2, 3), "quarter": (1, 2)}


def period_start(day: dt.date, kind: str) -> dt.date:
    """First day of the month or quarter holding `day`."""
    if kind == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, day.month, 1)


def shift(start: dt.date, kind: str, count: int) -> dt.date:
    """The first day of the period `count` periods after the one starting at `start`."""
    months = count * (3 if kind == "quarter" else 1)
    index = start.year * 12 + (start.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_end(start: dt.date, kind: str) -> dt.date:
    """Last day of the period starting at `start`."""
    return shift(start, kind, 1) - dt.timedelta(days=1)


def label(start: dt.date, kind: str) -> str:
    """ "2026-12" for a month, "2026-Q4" for a quarter."""
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def starts_between(first: dt.date, last: dt.date, kind: str) -> list[dt.date]:
    """First days of every period from the one holding `first` to the one holding `last`."""
    current = period_start(first, kind)
    end = period_start(last, kind)
    starts = []
    while current <= end:
        starts.append(current)
        current = shift(current, kind, 1)
    return starts


def default_window(today: dt.date, kind: str) -> tuple[dt.date, dt.date]:
    """First and last day of the default forecast window around `today`."""
    back, ahead = DEFAULT_WINDOW[kind]
    current = period_start(today, kind)
    return shift(current, kind, -back), period_end(shift(current, kind, ahead), kind)


def is_period_start(day: dt.date, kind: str) -> bool:
    return period_start(day, kind) == day


def forecast_window(
    today: dt.date, kind: str, *, since: dt.date | None = None, until: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """First and last day of the periods to forecast: the default window around today, or the
    periods holding `since` and `until`. With only one end given, the window keeps its default
    length from that end, so it is never empty."""
    back, ahead = DEFAULT_WINDOW[kind]
    if since and until:
        first, last = period_start(since, kind), period_start(until, kind)
    elif since:
        first = period_start(since, kind)
        last = shift(first, kind, back + ahead)
    elif until:
        last = period_start(until, kind)
        first = shift(last, kind, -(back + ahead))
    else:
        current = period_start(today, kind)
        first, last = shift(current, kind, -back), shift(current, kind, ahead)
    if last < first:
        first, last = last, first
    return first, period_end(last, kind)
