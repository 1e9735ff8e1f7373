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

from dataclasses import dataclass

import numpy as np

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
