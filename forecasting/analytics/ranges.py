"""Ranges of the learned forecast: p10 / p50 / p90 per period and in total, by simulation.

Each open deal is won or not (Bernoulli of its learned probability) and, when won, closes in
one of the periods (or later) by its stage's learned timing. Thousands of such futures are drawn
at once with numpy; in 10 % of them less than p10 is won, in 10 % more than p90.

The `EXACT_DEALS` deals that weigh most on the spread (amount² · p · (1 − p)) are drawn one by
one; when there are more, the many small ones left add up to a normal spread of the same mean
and covariance per period (their sum is very close to normal), drawn alongside. So a team's few
deals are simulated exactly, and 100,000 deals take a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import BigIntegerField, Func, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractYear, Round

from deals.models import Deal
from forecasting import periods
from forecasting.analytics.learning import LearnedModel, learn_model
from forecasting.analytics.probabilities import (
    BEST_CASE_MIN_PROBABILITY,
    COMMIT_MIN_PROBABILITY,
)
from forecasting.analytics.scope import MONEY, money

QUANTILES = (10, 50, 90)
DEFAULT_DRAWS = 2000
EXACT_DEALS = 1000
BLOCK = 250  # deals drawn together: bounds one block's memory to draws × BLOCK × periods


@dataclass
class Range:
    p10: float
    p50: float
    p90: float


@dataclass
class Ranges:
    periods: list[Range]
    total: Range


def simulate(
    *,
    amounts: np.ndarray,
    probabilities: np.ndarray,
    shares: np.ndarray,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> Ranges:
    """p10 / p50 / p90 of what is won per period and over all of them.

    `shares` has a row per deal: P(the deal closes in period j | won); a row may add up to less
    than 1 (the rest closes after the last period). Seeded: the same input gives the same ranges.
    """
    amounts = np.asarray(amounts, dtype=float)
    chances = np.asarray(probabilities, dtype=float)[:, None] * np.asarray(shares, dtype=float)
    n_periods = chances.shape[1] if chances.ndim == 2 else 0
    rng = np.random.default_rng(seed)
    weight = amounts**2 * chances.sum(axis=1) * (1 - chances.sum(axis=1))
    order = np.argsort(-weight, kind="stable")
    exact, rest = order[:EXACT_DEALS], order[EXACT_DEALS:]
    won = np.zeros((draws, n_periods))
    for start in range(0, len(exact), BLOCK):
        block = exact[start : start + BLOCK]
        won += _exact(rng, amounts[block], chances[block], draws)
    if len(rest):
        won += _normal(rng, amounts[rest], chances[rest], draws)
    won = np.maximum(won, 0.0)
    return Ranges(
        periods=[_range(won[:, j]) for j in range(n_periods)], total=_range(won.sum(axis=1))
    )


def _exact(
    rng: np.random.Generator, amounts: np.ndarray, chances: np.ndarray, draws: int
) -> np.ndarray:
    """(draws, periods) amounts won by a block of deals, each drawn: one uniform per deal and
    draw picks the period won in (P(period j) = p · share j), or none."""
    n, n_periods = chances.shape
    cumulative = np.cumsum(chances, axis=1)
    picks = rng.random((draws, n))
    period = np.zeros((draws, n), dtype=np.int64)  # n_periods: not won
    for j in range(n_periods):
        period += picks >= cumulative[:, j]
    slots = np.arange(draws)[:, None] * (n_periods + 1) + period
    sums = np.bincount(
        slots.ravel(),
        weights=np.broadcast_to(amounts, (draws, n)).ravel(),
        minlength=draws * (n_periods + 1),
    )
    return sums.reshape(draws, n_periods + 1)[:, :n_periods]


def _normal(
    rng: np.random.Generator, amounts: np.ndarray, chances: np.ndarray, draws: int
) -> np.ndarray:
    """(draws, periods) normal draws with the mean and covariance of many small deals' sum:
    E = Σ a·c_j, Cov(j, k) = Σ a²·(c_j·[j = k] − c_j·c_k)."""
    mean = amounts @ chances
    squared = amounts**2
    covariance = np.diag(squared @ chances) - (chances * squared[:, None]).T @ chances
    return rng.multivariate_normal(mean, covariance, size=draws, method="eigh")


def _range(values: np.ndarray) -> Range:
    if not len(values):
        return Range(0.0, 0.0, 0.0)
    p10, p50, p90 = np.percentile(values, QUANTILES)
    return Range(float(p10), float(p50), float(p90))


# --- the learned forecast's open deals -----------------------------------------------------------


@dataclass
class OpenFigures:
    """Open deals of one close period (or of none) in the learned forecast."""

    weighted: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    pipeline: Decimal = Decimal(0)
    deals: int = 0
    range: Range | None = None


@dataclass
class LearnedOpen:
    periods: dict[dt.date, OpenFigures]
    unscheduled: OpenFigures
    total: Range


@dataclass
class _OpenDeals:
    """The open deals with a close date, as arrays: amount, probability (0–1), stage, and the
    period their close counts from (its index from the window's first; never before today's)."""

    amounts: np.ndarray
    probabilities: np.ndarray
    stages: np.ndarray
    starts: np.ndarray


def learned_open_figures(
    deals: QuerySet[Deal], *, starts: list[dt.date], kind: str, today: dt.date, seed: int = 0
) -> LearnedOpen:
    """The learned forecast's open deals (one query, and the model's): each deal's weighted
    amount spread over the periods it may close in, by its stage's learned timing (an overdue
    deal counts from the current period), and p10 / p50 / p90 per period and in total."""
    model = learn_model()
    rows = (
        deals.filter(status=Deal.Status.OPEN)
        .filter(
            Q(expected_close_date__lte=periods.period_end(starts[-1], kind))
            | Q(expected_close_date__isnull=True)
        )
        .values_list(*_as_integers())
    )
    found = _open_arrays(list(rows), model, first=starts[0], kind=kind, today=today)
    by_start = {start: _figures(found, found.starts == j) for j, start in enumerate(starts)}
    undated = found.starts == NO_DATE
    unscheduled = _figures(found, undated)
    weighted = int((found.cents[undated] * found.hundredths[undated]).sum())
    unscheduled.weighted = money(Decimal(weighted) / 1_000_000)
    dated = ~undated
    spread = _OpenDeals(
        amounts=found.cents[dated] / 100,
        probabilities=found.hundredths[dated] / 10_000,
        stages=found.stages[dated],
        starts=found.starts[dated],
    )
    total = _spread(model, spread, by_start, kind=kind, seed=seed)
    return LearnedOpen(periods=by_start, unscheduled=unscheduled, total=total)


NO_DATE = -(10**6)


@dataclass
class _Found:
    """Every open deal of the forecast as arrays: amount in cents, probability in hundredths of
    a percent, stage, category (0 commit, 1 best case, 2 pipeline) and period index (NO_DATE:
    none)."""

    cents: np.ndarray
    hundredths: np.ndarray
    stages: np.ndarray
    categories: np.ndarray
    starts: np.ndarray


def _as_integers() -> list[Func]:
    """An open deal as integers computed in SQL (fast to fetch and to turn into arrays): amount
    in cents (`MONEY`: in the scope's currency, converted when it covers every currency; half a
    cent rounds up), stage, owner (0: none), override (−1: none), the stage's commit flag (0/1)
    and the expected close month as year × 12 + month − 1 (NO_DATE: none)."""
    closes = "expected_close_date"
    return [
        Cast(Round(Coalesce(MONEY, Value(Decimal(0))) * 100), BigIntegerField()),
        Cast("stage_id", BigIntegerField()),
        Coalesce("owner_id", Value(0)),
        Coalesce("probability_override", Value(-1), output_field=IntegerField()),
        Cast("stage__is_commit", IntegerField()),
        Coalesce(ExtractYear(closes) * 12 + ExtractMonth(closes) - 1, Value(NO_DATE)),
    ]


def _open_arrays(
    rows: list[tuple[int, ...]], model: LearnedModel, *, first: dt.date, kind: str, today: dt.date
) -> _Found:
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return _Found(empty, empty, empty, empty, empty)
    cents, stage, owner, override, commits, month = np.array(rows, dtype=np.int64).T
    keys, which = np.unique(stage * 2**32 + owner, return_inverse=True)
    learned = np.array(
        [
            int(model.percent(stage_id=int(k >> 32), owner_id=int(k & 0xFFFFFFFF) or None) * 100)
            for k in keys
        ],
        dtype=np.int64,
    )
    hundredths = np.where(override >= 0, override * 100, learned[which.ravel()])
    commit = commits.astype(bool) | (hundredths >= COMMIT_MIN_PROBABILITY * 100)
    best = ~commit & (hundredths >= BEST_CASE_MIN_PROBABILITY * 100)
    step = 3 if kind == "quarter" else 1
    offset = np.floor_divide(month - (first.year * 12 + first.month - 1), step)
    current = (today.year * 12 + today.month - 1 - (first.year * 12 + first.month - 1)) // step
    return _Found(
        cents=cents,
        hundredths=hundredths.astype(np.int64),
        stages=stage,
        categories=np.where(commit, 0, np.where(best, 1, 2)),
        starts=np.where(month == NO_DATE, NO_DATE, np.maximum(offset, current)).astype(np.int64),
    )


def _figures(found: _Found, mask: np.ndarray) -> OpenFigures:
    """The categories and count of the deals in `mask` (their weighted: by `_spread`)."""
    sums = np.bincount(found.categories[mask], weights=found.cents[mask], minlength=3)
    commit, best_case, pipeline = (Decimal(round(v)) / 100 for v in sums)
    return OpenFigures(commit=commit, best_case=best_case, pipeline=pipeline, deals=int(mask.sum()))


def _spread(
    model: LearnedModel,
    deals: _OpenDeals,
    by_start: dict[dt.date, OpenFigures],
    *,
    kind: str,
    seed: int,
) -> Range:
    """Each period's weighted: Σ amount × p × P(closes in it | won), and its range by
    simulation (zero before the current period: nothing open closes in the past)."""
    starts = list(by_start)
    shares = _share_matrix(model, deals, len(starts), kind)
    weighted = (deals.amounts * deals.probabilities) @ shares if len(deals.amounts) else None
    ranges = simulate(
        amounts=deals.amounts, probabilities=deals.probabilities, shares=shares, seed=seed
    )
    for j, start in enumerate(starts):
        figures = by_start[start]
        figures.weighted = money(Decimal(float(weighted[j])) if weighted is not None else 0)
        figures.range = ranges.periods[j]
    return ranges.total


def _share_matrix(model: LearnedModel, deals: _OpenDeals, n_periods: int, kind: str) -> np.ndarray:
    """(deals, periods): P(a deal closes in window period j | won), from its stage's shares
    counted from its start period (what falls after the window is left out)."""
    if not len(deals.stages):
        return np.zeros((0, n_periods))
    count = n_periods - min(0, int(deals.starts.min()))
    stage_ids, stage_rows = np.unique(deals.stages, return_inverse=True)
    table = np.array(
        [model.period_shares(stage_id=int(s), kind=kind, count=count)[:count] for s in stage_ids]
    )
    offsets = np.arange(n_periods)[None, :] - deals.starts[:, None]
    inside = (offsets >= 0) & (offsets < count)
    picked = table[stage_rows[:, None], np.clip(offsets, 0, count - 1)]
    return np.where(inside, picked, 0.0)
