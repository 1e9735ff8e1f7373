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
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import BigIntegerField, Func, IntegerField, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractYear, Round

from deals.models import Deal
from forecasting.analytics.learning import LearnedModel, learn_model
from forecasting.analytics.new_deals import (
    NotYetInPipeline,
    learned_new_deals,
    not_yet_in_pipeline,
)
from forecasting.analytics.probabilities import (
    BEST_CASE_MIN_PROBABILITY,
    COMMIT_MIN_PROBABILITY,
)
from forecasting.analytics.scope import MONEY, money

QUANTILES = (10, 50, 90)
DEFAULT_DRAWS = 2000
EXACT_DEALS = 1000
BLOCK = 250  # deals drawn together: bounds one block's memory to draws × BLOCK × periods
NORMAL_FROM = 100.0  # deals' worth behind a probability from which its draws are normal


@dataclass
class Range:
    p10: float
    p50: float
    p90: float


@dataclass
class Ranges:
    periods: list[Range]
    total: Range
    # What each draw won in each period, (draws, periods): what the ranges are read from.
    won: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)


@dataclass
class Uncertain:
    """The learned probabilities' own uncertainty: each deal's group (stage and owner) and per
    group its mean probability and the concentration of its beta posterior (inf: known)."""

    groups: np.ndarray
    means: np.ndarray
    weights: np.ndarray

    def factors(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        """(draws, groups): each draw's group probability over its mean. Beta draws where
        few deals stand behind a probability (skewed); above `NORMAL_FROM` deals' worth the
        beta is all but normal, drawn as such (several times faster)."""
        means = np.clip(self.means, 1e-6, 1 - 1e-6)
        drawn = np.isfinite(self.weights)
        weights = np.where(drawn, self.weights, 1.0)
        spread = np.sqrt(means * (1 - means) / (weights + 1))
        sample = np.clip(means + spread * rng.standard_normal((draws, len(means))), 0.0, 1.0)
        skewed = np.flatnonzero(drawn & (weights < NORMAL_FROM))
        if len(skewed):
            m, w = means[skewed], weights[skewed]
            sample[:, skewed] = rng.beta(m * w, (1 - m) * w, size=(draws, len(skewed)))
        factors: np.ndarray = np.where(drawn, sample / means, 1.0)
        return factors


def simulate(
    *,
    amounts: np.ndarray,
    probabilities: np.ndarray,
    shares: np.ndarray,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    uncertain: Uncertain | None = None,
    not_yet: NotYetInPipeline | None = None,
) -> Ranges:
    """p10 / p50 / p90 of what is won per period and over all of them.

    `shares` has a row per deal: P(the deal closes in period j | won); a row may add up to less
    than 1 (the rest closes after the last period). With `uncertain`, each draw first draws the
    groups' probabilities; with `not_yet`, adds the wins of deals not yet in the pipeline.
    Seeded: the same input gives the same ranges.
    """
    amounts = np.asarray(amounts, dtype=float)
    chances = np.asarray(probabilities, dtype=float)[:, None] * np.asarray(shares, dtype=float)
    n_periods = chances.shape[1] if chances.ndim == 2 else 0
    if not_yet is not None:
        n_periods = len(not_yet.expected)
        chances = chances.reshape(len(amounts), n_periods)
    rng = np.random.default_rng(seed)
    factors = uncertain.factors(rng, draws) if uncertain is not None else None
    weight = amounts**2 * chances.sum(axis=1) * (1 - chances.sum(axis=1))
    order = np.argsort(-weight, kind="stable")
    exact, rest = order[:EXACT_DEALS], order[EXACT_DEALS:]
    won = np.zeros((draws, n_periods))
    for start in range(0, len(exact), BLOCK):
        block = exact[start : start + BLOCK]
        scale = _scale(factors, uncertain, block)
        won += _exact(rng, amounts[block], chances[block], draws, scale)
    if len(rest):
        won += _normal(rng, amounts[rest], chances[rest], draws)
        if factors is not None and uncertain is not None:
            won += _shifted(factors, uncertain.groups[rest], amounts[rest], chances[rest])
    if not_yet is not None:
        won += _arrivals(rng, not_yet, draws)
    won = np.maximum(won, 0.0)
    return Ranges(
        periods=[_range(won[:, j]) for j in range(n_periods)],
        total=_range(won.sum(axis=1)),
        won=won,
    )


def _scale(
    factors: np.ndarray | None, uncertain: Uncertain | None, block: np.ndarray
) -> np.ndarray | None:
    if factors is None or uncertain is None:
        return None
    return factors[:, uncertain.groups[block]]


def _exact(
    rng: np.random.Generator,
    amounts: np.ndarray,
    chances: np.ndarray,
    draws: int,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """(draws, periods) amounts won by a block of deals, each drawn: one uniform per deal and
    draw picks the period won in (P(period j) = p · share j, p scaled by the draw's `scale`),
    or none."""
    n, n_periods = chances.shape
    cumulative = np.cumsum(chances, axis=1)
    picks = rng.random((draws, n))
    if scale is not None:  # p·scale·cumulative share ≤ pick  ⇔  cumulative ≤ pick / scale
        # A scale of 0 or next to it makes the pick infinite: that draw does not win the deal.
        with np.errstate(divide="ignore", over="ignore"):
            picks /= scale
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


def _shifted(
    factors: np.ndarray, groups: np.ndarray, amounts: np.ndarray, chances: np.ndarray
) -> np.ndarray:
    """(draws, periods): how far each draw's group probabilities move the many small deals'
    expected sum (drawn as normal around the learned probabilities)."""
    n_groups, n_periods = factors.shape[1], chances.shape[1]
    slots = (groups[:, None] * n_periods + np.arange(n_periods)).ravel()
    by_group = np.bincount(
        slots, weights=(amounts[:, None] * chances).ravel(), minlength=n_groups * n_periods
    ).reshape(n_groups, n_periods)
    shifted: np.ndarray = (factors - 1) @ by_group
    return shifted


def _arrivals(rng: np.random.Generator, not_yet: NotYetInPipeline, draws: int) -> np.ndarray:
    """(draws, periods) wins of deals not yet in the pipeline: a compound Poisson whose rate is
    itself drawn (gamma, as sure as the number of such wins it was learned from), each win's
    amount gamma with the mean and spread of such wins."""
    expected = np.asarray(not_yet.expected, dtype=float)
    if not expected.any() or not_yet.mean_win <= 0:
        return np.zeros((draws, len(expected)))
    evidence = max(not_yet.evidence, 1.0)
    rate = rng.gamma(evidence, 1 / evidence, size=(draws, 1))
    counts = rng.poisson(expected[None, :] / not_yet.mean_win * rate)
    spread = not_yet.second_moment - not_yet.mean_win**2
    if spread <= 0:
        return counts * not_yet.mean_win
    sums: np.ndarray = rng.gamma(counts * not_yet.mean_win**2 / spread, spread / not_yet.mean_win)
    return sums


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
    range: Range | None = None  # of the open deals and what is not yet in the pipeline
    not_yet_in_pipeline: Decimal = Decimal(0)


@dataclass
class LearnedOpen:
    periods: dict[dt.date, OpenFigures]
    unscheduled: OpenFigures
    total: Range
    not_yet_in_pipeline: Decimal = Decimal(0)


@dataclass
class _OpenDeals:
    """The open deals with a close date, as arrays: amount, probability (0–1), stage, and the
    period their close counts from (its index from the window's first; never before today's)."""

    amounts: np.ndarray
    probabilities: np.ndarray
    stages: np.ndarray
    starts: np.ndarray
    uncertain: Uncertain
    now: int  # the index of the current period from the window's first


def learned_open_figures(
    deals: QuerySet[Deal], *, starts: list[dt.date], kind: str, today: dt.date, seed: int = 0
) -> LearnedOpen:
    """The learned forecast's open deals (one query, and the model's): each deal's weighted
    amount spread over the periods it may close in, by its stage's learned timing (an overdue
    deal counts from the current period), what deals not yet in the pipeline will add
    (`new_deals`), and p10 / p50 / p90 of both per period and in total."""
    model = learn_model()
    later = not_yet_in_pipeline(learned_new_deals(day=today), deals, starts=starts, kind=kind)
    # Every open deal: one due after the window may still land in it early.
    rows = deals.filter(status=Deal.Status.OPEN).values_list(*_as_integers())
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
        uncertain=Uncertain(found.groups[dated], found.uncertain.means, found.uncertain.weights),
        now=found.now,
    )
    total = _spread(model, spread, by_start, kind=kind, seed=seed, not_yet=later)
    return LearnedOpen(
        periods=by_start,
        unscheduled=unscheduled,
        total=total,
        not_yet_in_pipeline=money(Decimal(repr(float(later.expected.sum())))),
    )


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
    groups: np.ndarray  # index into `uncertain` (0: overridden, nothing learned to draw)
    uncertain: Uncertain
    now: int = 0  # the current period's index from the window's first


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
        none = Uncertain(empty, np.ones(1), np.full(1, np.inf))
        return _Found(empty, empty, empty, empty, empty, empty, none)
    cents, stage, owner, override, commits, month = np.array(rows, dtype=np.int64).T
    keys, which = np.unique(stage * 2**32 + owner, return_inverse=True)
    pairs = [(int(k >> 32), int(k & 0xFFFFFFFF) or None) for k in keys]
    learned = np.array(
        [int(model.percent(stage_id=s, owner_id=o) * 100) for s, o in pairs], dtype=np.int64
    )
    hundredths = np.where(override >= 0, override * 100, learned[which.ravel()])
    weights = [model.weight(stage_id=s, owner_id=o) for s, o in pairs]
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
        groups=np.where(override >= 0, 0, which.ravel() + 1),
        uncertain=Uncertain(
            np.zeros(0, dtype=np.int64),
            np.concatenate([[1.0], learned / 10_000]),
            np.array([np.inf, *weights]),
        ),
        now=current,
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
    not_yet: NotYetInPipeline,
) -> Range:
    """Each period's weighted: Σ amount × p × P(closes in it | won), what is not yet in the
    pipeline, and their range by simulation (zero before the current period: nothing open
    closes in the past)."""
    starts = list(by_start)
    shares = _share_matrix(model, deals, len(starts), kind)
    weighted = (deals.amounts * deals.probabilities) @ shares if len(deals.amounts) else None
    ranges = simulate(
        amounts=deals.amounts,
        probabilities=deals.probabilities,
        shares=shares,
        seed=seed,
        uncertain=deals.uncertain,
        not_yet=not_yet,
    )
    for j, start in enumerate(starts):
        figures = by_start[start]
        figures.weighted = money(Decimal(float(weighted[j])) if weighted is not None else 0)
        figures.not_yet_in_pipeline = money(Decimal(repr(float(not_yet.expected[j]))))
        figures.range = ranges.periods[j]
    return ranges.total


def _share_matrix(model: LearnedModel, deals: _OpenDeals, n_periods: int, kind: str) -> np.ndarray:
    """(deals, periods): P(a deal closes in window period j | won), by its stage's learned
    landing from the current period, its start that many periods ahead (what falls after the
    window is left out)."""
    count = n_periods - deals.now
    result = np.zeros((len(deals.stages), n_periods))
    if not len(deals.stages) or count <= 0:
        return result
    # One integer per (stage, periods ahead): a 1-D unique is many times faster than one of
    # rows (axis=0), which sorts them as records (80 ms for 140,000 deals).
    ahead = deals.starts - deals.now  # never negative: an overdue deal lands from now
    keys, rows = np.unique(deals.stages * 2**32 + ahead, return_inverse=True)
    table = np.array(
        [
            model.landing_shares(
                stage_id=int(k >> 32), kind=kind, ahead=int(k & 0xFFFFFFFF), count=count
            )
            for k in keys
        ]
    )
    skip = max(0, -deals.now)  # the periods from now before the window's first
    result[:, deals.now + skip :] = table[rows.ravel()][:, skip:]
    return result
