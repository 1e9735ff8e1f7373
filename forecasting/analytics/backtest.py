"""Backtest: for every past period, the forecast made at its start beside what was won.

The forecasts come from `backtest_parts`: the pipeline at the period's start split by owner
then and currency, each part forecast with the configured probabilities and with the model
learned from what was known then, with the learned forecast's p10–p90 range. Where the nightly
job has stored a period's parts (`services.store_backtests`: the default periods of every
pipeline and of all of them) they are read, two queries for every period; a period not stored
is computed here, from the history. Beside them: what was won in the period (live, from the
closed deals' running counts), each forecast's error, and the Brier score of both
probabilities over the deals open at the start that have closed since (stored parts: by the
day they were scored, `Backtest.scored_on`).

A scope adds up the parts of the owners it covers, converting each to its currency; its range
is drawn from the parts' stored distributions (independent: see `backtest_parts`).

Queries when computed: four for the whole backtest and those of `learn_models` (one count of
the closed deals for every period, five for each period's timing), then per period one for the
open deals and three for the deals not yet in the pipeline; none grows with the number of deals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

import numpy as np
from django.utils import timezone

from currencies.selectors import rates_in_effect
from deals.models import Deal
from forecasting import periods
from forecasting.analytics.accuracy import won_by_period
from forecasting.analytics.backtest_parts import DRAWS, PERCENTILES, Part, period_parts
from forecasting.analytics.scope import (
    Scope,
    as_date,
    money,
    narrowed_in_currency,
    scoped_backtest_parts,
    scoped_deals,
)
from forecasting.models import BacktestPart, ForecastSnapshot, StoredBacktest

# How many past periods a backtest covers by default.
DEFAULT_PERIODS = {"month": 12, "quarter": 4}
# A period's learned forecast is within this share of what was won: the goal (issue 14).
GOAL_ERROR = 0.10


@dataclass
class BacktestRow:
    period: str
    start: dt.date
    pipeline_from: str  # "snapshot" or "history": where the pipeline at the start came from
    deals: int  # open at the start
    configured: Decimal
    learned: Decimal  # the open deals' learned figure plus what is not yet in the pipeline
    not_yet_in_pipeline: Decimal  # expected from deals created after the start
    p10: Decimal
    p50: Decimal
    p90: Decimal
    won: Decimal
    brier_configured: float | None
    brier_learned: float | None
    brier_deals: int  # open at the start and closed since: what the Brier scores are over

    @property
    def configured_error(self) -> float | None:
        """(forecast − won) / won: +0.1 forecast 10 % too much."""
        return _error(self.configured, self.won)

    @property
    def learned_error(self) -> float | None:
        return _error(self.learned, self.won)

    @property
    def in_band(self) -> bool:
        return self.p10 <= self.won <= self.p90


@dataclass
class BacktestSummary:
    periods: int
    configured_error: float | None  # mean absolute error, a share of won
    learned_error: float | None
    learned_within_goal: int  # periods whose learned forecast is within GOAL_ERROR of won
    coverage: float | None  # share of periods whose won lies in p10–p90
    brier_configured: float | None
    brier_learned: float | None
    brier_deals: int


@dataclass
class Backtest:
    period: str
    currency: str
    rows: list[BacktestRow]
    summary: BacktestSummary
    scored_on: dt.date | None = None  # stored periods' Brier scores: deals closed by this day

    def as_dict(self) -> dict[str, Any]:
        rows = [
            {
                **asdict(row),
                "configured_error": row.configured_error,
                "learned_error": row.learned_error,
                "in_band": row.in_band,
            }
            for row in self.rows
        ]
        return {
            "period": self.period,
            "currency": self.currency,
            "rows": rows,
            "summary": asdict(self.summary),
            "scored_on": self.scored_on,
        }


def _error(forecast: Decimal, won: Decimal) -> float | None:
    return round(float((forecast - won) / won), 4) if won else None


def backtest(
    scope: Scope,
    *,
    period: str = "month",
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> Backtest:
    """Every past period of the range (default: the last 12 months or 4 quarters with deals,
    the current one left out: it is not over), forecast at its start beside what was won."""
    starts = _past_starts(scope, period, since, until, today or timezone.localdate())
    return _assembled(scope, period, starts, *_stored(scope, period, starts))


def stored_backtest(
    scope: Scope,
    *,
    period: str = "month",
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> Backtest | None:
    """`backtest` where the nightly job has stored every period it covers (read in a few
    queries), else None: nothing is replayed (that takes seconds at a million deals)."""
    starts = _past_starts(scope, period, since, until, today or timezone.localdate())
    stored, scored_on = _stored(scope, period, starts)
    if len(stored) < len(starts):
        return None
    return _assembled(scope, period, starts, stored, scored_on)


def _assembled(
    scope: Scope,
    kind: str,
    starts: list[dt.date],
    stored: dict[dt.date, tuple[bool, list[Part]]],
    scored_on: dt.date | None,
) -> Backtest:
    """The rows of `starts` from their stored parts, the others' computed from history, and
    what was won in each period."""
    if not starts:
        return Backtest(kind, scope.currency_code, [], _summary([]))
    won = won_by_period(scope, starts[0], periods.period_end(starts[-1], kind), kind)
    computed = _computed(scope, kind, [start for start in starts if start not in stored])
    factors = _factors(scope)
    rows = []
    for start in starts:
        from_snapshot, parts = stored.get(start) or computed[start]
        row = combined(parts, factors)
        row.update(
            period=periods.label(start, kind),
            start=start,
            pipeline_from="snapshot" if from_snapshot else "history",
            won=money(won.get(start, Decimal(0))),
        )
        rows.append(BacktestRow(**row))
    return Backtest(kind, scope.currency_code, rows, _summary(rows), scored_on)


def _stored(
    scope: Scope, kind: str, starts: list[dt.date]
) -> tuple[dict[dt.date, tuple[bool, list[Part]]], dt.date | None]:
    """The stored periods among `starts`, with the parts of them the scope covers (two
    queries), and the day the oldest was scored."""
    backtests = StoredBacktest.objects.filter(kind=kind, start__in=starts)
    if scope.pipeline is None:
        backtests = backtests.filter(pipeline__isnull=True)
    else:
        backtests = backtests.filter(pipeline=scope.pipeline)
    found = {pk: (start, snap, day) for pk, start, snap, day in backtests.values_list(
        "pk", "start", "from_snapshot", "scored_on"
    )}  # fmt: skip
    if not found:
        return {}, None
    result: dict[dt.date, tuple[bool, list[Part]]] = {
        start: (snap, []) for start, snap, _ in found.values()
    }
    for stored in scoped_backtest_parts(scope).filter(backtest__in=list(found)):
        result[found[stored.backtest_id][0]][1].append(_part_of(stored))
    return result, min(day for _, _, day in found.values())


def _part_of(stored: BacktestPart) -> Part:
    return Part(**{field.name: getattr(stored, field.name) for field in fields(Part)})


def _computed(
    scope: Scope, kind: str, starts: list[dt.date]
) -> dict[dt.date, tuple[bool, list[Part]]]:
    """The parts of the periods not stored, computed from the deals the scope sees."""
    deals = narrowed_in_currency(Deal.objects.visible_to(scope.user), scope)
    snapshots = narrowed_in_currency(ForecastSnapshot.objects.visible_to(scope.user), scope)
    return period_parts(deals, snapshots, pipeline=scope.pipeline, kind=kind, starts=starts)


def _factors(scope: Scope) -> dict[str, float]:
    """Per currency, what one unit of it is in the scope's currency (a scope of one currency
    has only its parts; the others are converted at today's rate)."""
    if scope.currency:
        return {scope.currency: 1.0}
    rates = rates_in_effect()
    return {code: float(rates.convert(1, code) or 0) for code in {*rates.per_unit, rates.reporting}}


def combined(parts: list[Part], factors: dict[str, float]) -> dict[str, Any]:
    """A scope's figures of one period from its parts: money converted and added up, the range
    drawn from the parts' distributions (one part: its own percentiles), Brier sums pooled."""
    # In one order, however they were read: the same parts draw the same range.
    parts = sorted(
        (part for part in parts if part.currency in factors), key=lambda p: (p.owner_id, p.currency)
    )
    factor = np.array([factors[part.currency] for part in parts])
    configured, learned, later = (
        float(np.dot(factor, [getattr(part, name) for part in parts]))
        for name in ("configured", "learned", "not_yet_in_pipeline")
    )
    band = _band([np.asarray(part.percentiles) * f for part, f in zip(parts, factor, strict=True)])
    closed = sum(part.brier_deals for part in parts)
    return {
        "deals": sum(part.deals for part in parts),
        "configured": _money(configured),
        "learned": _money(learned + later),
        "not_yet_in_pipeline": _money(later),
        "p10": band[0],
        "p50": band[1],
        "p90": band[2],
        "brier_configured": _pooled([p.brier_configured for p in parts], closed),
        "brier_learned": _pooled([p.brier_learned for p in parts], closed),
        "brier_deals": closed,
    }


def _band(distributions: list[np.ndarray]) -> tuple[Decimal, Decimal, Decimal]:
    """p10 / p50 / p90 of the sum of independent amounts, each given by its percentiles: one
    is read as it is; several are drawn (the inverse of each one's distribution at uniform
    draws, seeded so that the same parts give the same range) and added up."""
    if not distributions:
        return money(0), money(0), money(0)
    if len(distributions) == 1:
        only = distributions[0]
        return _money(only[10]), _money(only[50]), _money(only[90])
    rng = np.random.default_rng(0)
    total = np.zeros(DRAWS)
    for percentiles in distributions:
        total += np.interp(rng.random(DRAWS) * 100, PERCENTILES, percentiles)
    p10, p50, p90 = np.percentile(total, [10, 50, 90])
    return _money(p10), _money(p50), _money(p90)


def _pooled(sums: list[float], deals: int) -> float | None:
    return round(sum(sums) / deals, 4) if deals else None


def recent_starts(kind: str, today: dt.date) -> list[dt.date]:
    """First days of the last `DEFAULT_PERIODS` periods of `kind` over before `today`: what a
    backtest covers by default and what the nightly job stores."""
    last = periods.shift(periods.period_start(today, kind), kind, -1)
    first = periods.shift(last, kind, 1 - DEFAULT_PERIODS[kind])
    return periods.starts_between(first, last, kind)


def _past_starts(
    scope: Scope, kind: str, since: dt.date | None, until: dt.date | None, today: dt.date
) -> list[dt.date]:
    """First days of the periods to backtest: those holding since..until (by default the last
    few), over before today and not before the first deal of the scope."""
    last_over = recent_starts(kind, today)[-1]
    last = min(periods.period_start(until, kind), last_over) if until else last_over
    first = periods.shift(last, kind, 1 - DEFAULT_PERIODS[kind])
    if since:
        first = periods.period_start(since, kind)
    # The oldest deal by walking the index on created_at from its start: MIN() over a
    # manager's owners reads every deal of theirs (a quarter of a second at a million deals).
    first_created = scoped_deals(scope).filter(created_at__isnull=False).order_by("created_at")
    oldest = as_date(first_created.values_list("created_at", flat=True).first())
    if oldest is None:
        return []
    first = max(first, periods.period_start(oldest, kind))
    return periods.starts_between(first, last, kind) if first <= last else []


def _money(value: float) -> Decimal:
    return money(Decimal(repr(float(value))))


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def _summary(rows: list[BacktestRow]) -> BacktestSummary:
    scored = [r for r in rows if r.brier_deals]
    deals = sum(r.brier_deals for r in scored)

    def pooled(name: str) -> float | None:
        total = sum((getattr(r, name) or 0) * r.brier_deals for r in scored)
        return round(total / deals, 4) if deals else None

    learned_errors = [r.learned_error for r in rows]
    return BacktestSummary(
        periods=len(rows),
        configured_error=_mean(
            abs(e) if e is not None else None for e in (r.configured_error for r in rows)
        ),
        learned_error=_mean(abs(e) if e is not None else None for e in learned_errors),
        learned_within_goal=sum(
            1 for e in learned_errors if e is not None and abs(e) <= GOAL_ERROR
        ),
        coverage=_mean(float(r.in_band) for r in rows),
        brier_configured=pooled("brier_configured"),
        brier_learned=pooled("brier_learned"),
        brier_deals=deals,
    )
