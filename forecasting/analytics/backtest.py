"""Backtest: for every past period, the forecast made at its start beside what was won.

At each period's start, the pipeline as it stood then (that day's snapshot when there is one,
else rebuilt from the deals' history) is forecast twice: with the configured probabilities
(Σ amount × probability of the deals expected in the period) and with the model learned from
what was known then (Σ amount × learned probability × the share of the deal's win the timing
model lands in the period, whatever period it is expected in), with the learned forecast's
p10–p90 range. Beside them: what was won in the period, each forecast's error, and the Brier
score of both probabilities over the deals open at the start that have closed since.

The learned forecast also adds what deals created after the period's start were expected to
win (`new_deals`, learned from what was known at the start), and its range draws that and the
learned probabilities' own uncertainty.

Queries: four for the whole backtest and those of `learn_models` (one count of the closed deals
for every period, five for each period's timing), then per period one for the open deals and
three for the deals not yet in the pipeline; none grows with the number of deals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, cast

import numpy as np
from django.db.models import CharField, Min, OuterRef, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from currencies.selectors import rates_in_effect
from deals.models import Deal, FieldChange, Stage
from forecasting import periods
from forecasting.analytics.accuracy import won_by_period
from forecasting.analytics.as_of import open_at_start_of
from forecasting.analytics.learning import LearnedModel, learn_models
from forecasting.analytics.new_deals import (
    NotYetInPipeline,
    learn_new_deals,
    not_yet_in_pipeline,
)
from forecasting.analytics.ranges import Uncertain, simulate
from forecasting.analytics.scope import MONEY, Scope, as_date, day_bounds, money, scoped_deals
from forecasting.analytics.scope import scoped_snapshots as _snapshots
from forecasting.models import ForecastSnapshot

# How many past periods a backtest covers by default.
DEFAULT_PERIODS = {"month": 12, "quarter": 4}
# A period's learned forecast is within this share of what was won: the goal (issue 14).
GOAL_ERROR = 0.10
DRAWS = 2000

# One open deal at a period's start: stage, owner, amount, configured probability in percent,
# override in percent (or None), expected close date, status now, won at, lost at.
DealThen = tuple[
    int, int, Any, int, int | None, dt.date | None, str, dt.datetime | None, dt.datetime | None
]

# The same from a snapshot: its probability is the configured one or an override.
SnapshotRow = tuple[int, int, Any, int, dt.date | None, str, dt.datetime | None, dt.datetime | None]


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
    rows: list[BacktestRow] = []
    if starts:
        snapshot_days = _snapshot_days(starts)
        configured = dict(Stage.objects.values_list("pk", "probability"))
        won = won_by_period(scope, starts[0], periods.period_end(starts[-1], period), period)
        days = [day_bounds(start, start)[0] for start in starts]
        models = learn_models(pipeline=scope.pipeline, as_of_days=days)
        for start, model in zip(starts, models, strict=True):
            deals = _open_at_start(scope, start, configured, from_snapshot=start in snapshot_days)
            rates = learn_new_deals(day=start, pipeline=scope.pipeline)
            later = not_yet_in_pipeline(rates, scoped_deals(scope), starts=[start], kind=period)
            figures = _Figures.of(deals, model, start, period, later)
            rows.append(
                figures.row(
                    period=periods.label(start, period),
                    start=start,
                    pipeline_from="snapshot" if start in snapshot_days else "history",
                    won=won.get(start, Decimal(0)),
                )
            )
    return Backtest(period=period, currency=scope.currency_code, rows=rows, summary=_summary(rows))


def _past_starts(
    scope: Scope, kind: str, since: dt.date | None, until: dt.date | None, today: dt.date
) -> list[dt.date]:
    """First days of the periods to backtest: those holding since..until (by default the last
    few), over before today and not before the first deal of the scope."""
    last_over = periods.shift(periods.period_start(today, kind), kind, -1)
    last = min(periods.period_start(until, kind), last_over) if until else last_over
    first = periods.shift(last, kind, 1 - DEFAULT_PERIODS[kind])
    if since:
        first = periods.period_start(since, kind)
    oldest = as_date(scoped_deals(scope).aggregate(first=Min("created_at"))["first"])
    if oldest is None:
        return []
    first = max(first, periods.period_start(oldest, kind))
    return periods.starts_between(first, last, kind) if first <= last else []


def _snapshot_days(starts: list[dt.date]) -> set[dt.date]:
    """The period starts a daily snapshot was taken on (snapshots cover every open deal at
    once, so this is the same for everyone)."""
    days = ForecastSnapshot.objects.filter(taken_on__in=starts).values_list("taken_on", flat=True)
    return {day for day in (as_date(d) for d in days.distinct().order_by()) if day is not None}


def _open_at_start(
    scope: Scope, start: dt.date, configured: dict[int, int], *, from_snapshot: bool
) -> list[DealThen]:
    """The deals open at the start of the day `start`, as they were then, with how they ended.
    A snapshot's probability that is not its stage's configured one was an override."""
    if not from_snapshot:
        return _rebuilt(scope, start, configured)
    rows = (
        _snapshots(scope)
        .filter(taken_on=start, status=Deal.Status.OPEN, stage__isnull=False)
        .values_list(
            "stage",
            "owner",
            MONEY,  # in the scope's currency (converted when it covers every currency)
            "probability",
            "expected_close_date",
            "deal__status",
            "deal__won_at",
            "deal__lost_at",
        )
    )
    return [
        (stage, owner, amount, prob, None if prob == configured.get(stage) else prob, *ended)
        for stage, owner, amount, prob, *ended in cast(Iterable[SnapshotRow], rows)
    ]


def _value_then(name: str, at: dt.datetime, current: str) -> Coalesce:
    """A tracked field's value at `at`, as text: the old value of its first change after `at`,
    else its value now ("" for none)."""
    first_change = FieldChange.objects.filter(deal=OuterRef("pk"), field=name, at__gte=at)
    old = first_change.order_by("at", "id").values("old_value")[:1]
    return Coalesce(Subquery(old), Cast(current, CharField()), output_field=CharField())


def _rebuilt(scope: Scope, day: dt.date, configured: dict[int, int]) -> list[DealThen]:
    """The deals open at the start of `day` rebuilt from history (`open_at_start_of`, which
    also gives the close date then), with the owner, amount and override they had then."""
    at, _ = day_bounds(day, day)
    rows = (
        open_at_start_of(scoped_deals(scope), day)
        .annotate(
            owner_then=_value_then("owner", at, "owner_id"),
            amount_then=_value_then("amount", at, "amount"),
            override_then=_value_then("probability_override", at, "probability_override"),
        )
        .values_list(
            "stage_then",
            "owner_then",
            "amount_then",
            "currency",
            "override_then",
            "close_then",
            "status",
            "won_at",
            "lost_at",
        )
    )
    # The amount then is text in the deal's own currency: a scope of every currency converts it
    # as `amount_of` converts today's amounts (the deals without a rate are not in the scope).
    rates = None if scope.currency else rates_in_effect()
    return [
        (
            stage,
            int(owner),
            (rates.convert(amount, currency) if rates and amount else amount) or None,
            configured.get(stage, 0),
            _int(override),
            as_date(close or None),
            *end,
        )
        for stage, owner, amount, currency, override, close, *end in rows
    ]


def _int(text: str | None) -> int | None:
    return int(text) if text else None


@dataclass
class _Figures:
    """One period's open deals as arrays, and the figures of its row."""

    amount: np.ndarray  # money as floats
    configured: np.ndarray  # probabilities 0–1
    learned: np.ndarray
    due: np.ndarray  # expected to close in the period
    share: np.ndarray  # share of the deal's win the timing model lands in the period
    outcome: np.ndarray  # 1 won since the start, 0 lost since, NaN still open
    uncertain: Uncertain  # the learned probabilities' groups (stage, owner; or overridden)
    not_yet: NotYetInPipeline

    @classmethod
    def of(
        cls,
        deals: list[DealThen],
        model: LearnedModel,
        start: dt.date,
        kind: str,
        not_yet: NotYetInPipeline,
    ) -> _Figures:
        at = day_bounds(start, start)[0]
        learned = _Cached(model, kind)
        columns: list[list[float]] = [[], [], [], [], [], []]
        groups: list[int] = []
        for stage, owner, amount, prob, override, close, status, won_at, lost_at in deals:
            groups.append(learned.group(stage, owner) if override is None else 0)
            expected = periods.period_start(close, kind) if close else None
            values = (
                float(amount or 0),
                (prob if override is None else override) / 100,
                learned.probability(stage, owner) if override is None else override / 100,
                float(expected == start),
                learned.share(stage, _ahead(expected, start, kind)) if expected else 0.0,
                _outcome(status, won_at, lost_at, at),
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        amount, configured, probability, due, share, outcome = (
            np.array(column, dtype=float) for column in columns
        )
        return cls(
            amount, configured, probability, due, share, outcome, learned.uncertain(groups), not_yet
        )

    def row(self, *, period: str, start: dt.date, pipeline_from: str, won: Decimal) -> BacktestRow:
        closed = ~np.isnan(self.outcome)
        outcome = self.outcome[closed]
        later = float(self.not_yet.expected.sum())
        band = self._band()
        return BacktestRow(
            period=period,
            start=start,
            pipeline_from=pipeline_from,
            deals=len(self.amount),
            configured=_money(float(np.sum(self.amount * self.configured * self.due))),
            learned=_money(float(np.sum(self.amount * self.learned * self.share) + later)),
            not_yet_in_pipeline=_money(later),
            p10=band[0],
            p50=band[1],
            p90=band[2],
            won=money(won),
            brier_configured=_brier(self.configured[closed], outcome),
            brier_learned=_brier(self.learned[closed], outcome),
            brier_deals=int(closed.sum()),
        )

    def _band(self) -> tuple[Decimal, Decimal, Decimal]:
        if not len(self.amount) and not self.not_yet.expected.any():
            return money(0), money(0), money(0)
        ranges = simulate(
            amounts=self.amount,
            probabilities=self.learned,
            shares=self.share.reshape(-1, 1),
            draws=DRAWS,
            uncertain=self.uncertain,
            not_yet=self.not_yet,
        )
        first = ranges.periods[0]
        return _money(first.p10), _money(first.p50), _money(first.p90)


class _Cached:
    """The model's figures per (stage, owner) and per stage, asked once each."""

    def __init__(self, model: LearnedModel, kind: str) -> None:
        self.model, self.kind = model, kind
        self.probabilities: dict[tuple[int, int], float] = {}
        self.shares: dict[tuple[int, int], float] = {}
        self.groups: dict[tuple[int, int], int] = {}

    def group(self, stage: int, owner: int) -> int:
        """The index of the deal's probability group (0: overridden, nothing to draw)."""
        return self.groups.setdefault((stage, owner), len(self.groups) + 1)

    def uncertain(self, groups: list[int]) -> Uncertain:
        means, weights = [1.0], [float("inf")]
        for stage, owner in self.groups:
            means.append(self.probability(stage, owner))
            weights.append(self.model.weight(stage_id=stage, owner_id=owner or None))
        return Uncertain(np.array(groups, dtype=np.int64), np.array(means), np.array(weights))

    def probability(self, stage: int, owner: int) -> float:
        key = (stage, owner)
        if key not in self.probabilities:
            self.probabilities[key] = self.model.probability(stage_id=stage, owner_id=owner)
        return self.probabilities[key]

    def share(self, stage: int, ahead: int) -> float:
        """The share of a won deal's win landing in the period it is `ahead` periods before
        its expected one (0: expected in it, or overdue)."""
        key = (stage, ahead)
        if key not in self.shares:
            shares = self.model.landing_shares(stage_id=stage, kind=self.kind, ahead=ahead, count=1)
            self.shares[key] = shares[0]
        return self.shares[key]


def _ahead(expected: dt.date, start: dt.date, kind: str) -> int:
    """How many periods after the one starting on `start` the `expected` period starts."""
    months = (expected.year - start.year) * 12 + expected.month - start.month
    return max(0, months // (3 if kind == "quarter" else 1))


def _outcome(
    status: str, won_at: dt.datetime | None, lost_at: dt.datetime | None, at: dt.datetime
) -> float:
    if status == Deal.Status.WON and won_at is not None and won_at >= at:
        return 1.0
    if status == Deal.Status.LOST and lost_at is not None and lost_at >= at:
        return 0.0
    return float("nan")


def _money(value: float) -> Decimal:
    return money(Decimal(repr(value)))


def _brier(probabilities: np.ndarray, outcomes: np.ndarray) -> float | None:
    """Mean squared distance between probability and outcome: 0 perfect, 0.25 a coin."""
    if not len(outcomes):
        return None
    return round(float(np.mean((probabilities - outcomes) ** 2)), 4)


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
