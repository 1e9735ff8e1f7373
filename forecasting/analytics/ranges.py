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
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet

from deals.models import Deal
from forecasting import periods
from forecasting.analytics.learning import LearnedModel, learn_model
from forecasting.analytics.probabilities import (
    BEST_CASE_MIN_PROBABILITY,
    COMMIT_MIN_PROBABILITY,
)
from forecasting.analytics.scope import HUNDRED, money

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
    current = periods.period_start(today, kind)
    rows = (
        deals.filter(status=Deal.Status.OPEN)
        .filter(
            Q(expected_close_date__lte=periods.period_end(starts[-1], kind))
            | Q(expected_close_date__isnull=True)
        )
        .values_list(
            "amount",
            "stage_id",
            "owner_id",
            "probability_override",
            "stage__is_commit",
            "expected_close_date",
        )
    )
    by_start = {start: OpenFigures() for start in starts}
    unscheduled = OpenFigures()
    dated: list[tuple[Decimal, float, int, int]] = []
    percents: dict[tuple[int, int | None], Decimal] = {}
    for amount, stage_id, owner_id, override, is_commit, expected in rows:
        key = (stage_id, owner_id)
        if override is None and key not in percents:
            percents[key] = model.percent(stage_id=stage_id, owner_id=owner_id)
        percent = Decimal(override) if override is not None else percents[key]
        amount = amount or Decimal(0)
        start = None if expected is None else max(periods.period_start(expected, kind), current)
        figures = unscheduled if start is None else by_start.get(start)
        if figures is not None:
            _add_deal(figures, amount, percent, is_commit)
        if start is not None:
            dated.append((amount, float(percent) / 100, stage_id, _index(starts[0], start, kind)))
    if unscheduled.deals:
        unscheduled.weighted = money(unscheduled.weighted / HUNDRED)
    total = _spread(model, _as_arrays(dated), by_start, kind=kind, seed=seed)
    return LearnedOpen(periods=by_start, unscheduled=unscheduled, total=total)


def _add_deal(figures: OpenFigures, amount: Decimal, percent: Decimal, is_commit: bool) -> None:
    """Count a deal in its close period's categories (and, undated, its weighted × 100)."""
    figures.deals += 1
    if is_commit or percent >= COMMIT_MIN_PROBABILITY:
        figures.commit += amount
    elif percent >= BEST_CASE_MIN_PROBABILITY:
        figures.best_case += amount
    else:
        figures.pipeline += amount
    figures.weighted += amount * percent


def _index(first: dt.date, start: dt.date, kind: str) -> int:
    months = (start.year - first.year) * 12 + start.month - first.month
    return months // 3 if kind == "quarter" else months


def _as_arrays(dated: list[tuple[Decimal, float, int, int]]) -> _OpenDeals:
    columns: list[tuple[Any, ...]] = list(zip(*dated, strict=True)) or [(), (), (), ()]
    return _OpenDeals(
        amounts=np.array(columns[0], dtype=float),
        probabilities=np.array(columns[1], dtype=float),
        stages=np.array(columns[2], dtype=np.int64),
        starts=np.array(columns[3], dtype=np.int64),
    )


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
