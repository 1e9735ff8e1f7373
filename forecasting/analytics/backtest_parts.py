"""The backtest's parts: one period's forecast made at its start, per owner then and currency.

At a period's start, the pipeline as it stood then (that day's snapshot when there is one, else
rebuilt from the deals' history) is split by the owner each deal had then and its currency,
and each part is forecast on its own: with the configured probabilities (Σ amount × probability
of the deals expected in the period) and with the model learned from what was known then (Σ
amount × learned probability × the share of the deal's win the timing model lands in the
period, whatever period it is expected in), plus what the owner's deals created after the
start were expected to win (`new_deals`). Every figure is in the part's own currency and adds
up across parts, except the learned forecast's range: each part keeps its simulated
distribution as 101 percentiles, from which `backtest.combined` draws a scope's range. The
parts are independent: the learned probabilities' uncertainty is drawn per stage and owner.

Each part also holds the Brier sums of its deals closed since the start: Σ (probability −
outcome)² for the configured and the learned probability, and how many deals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce

from deals.models import Deal, FieldChange, Pipeline, Stage
from forecasting import periods
from forecasting.analytics.as_of import open_at_start_of
from forecasting.analytics.learning import LearnedModel, learn_models
from forecasting.analytics.new_deals import (
    NewDealRates,
    NotYetInPipeline,
    learn_new_deals,
    not_yet_per_owner,
)
from forecasting.analytics.ranges import Uncertain, simulate
from forecasting.analytics.scope import MONEY, as_date, day_bounds
from forecasting.models import ForecastSnapshot

DRAWS = 2000
PERCENTILES = np.arange(101)

# One open deal at a period's start: stage, owner, amount, currency, configured probability in
# percent, override in percent (or None), expected close date, status now, won at, lost at.
DealThen = tuple[
    int,
    int,
    Any,
    str,
    int,
    int | None,
    dt.date | None,
    str,
    dt.datetime | None,
    dt.datetime | None,
]

# The same from a snapshot: its probability is the configured one or an override.
SnapshotRow = tuple[
    int, int, Any, str, int, dt.date | None, str, dt.datetime | None, dt.datetime | None
]


@dataclass
class Part:
    """One owner's deals in one currency at a period's start, forecast (money in `currency`)."""

    owner_id: int  # named as `BacktestPart` stores it: a part and its row share their fields
    currency: str
    deals: int
    configured: float
    learned: float  # the open deals' learned figure
    not_yet_in_pipeline: float  # expected from the owner's deals created after the start
    percentiles: list[float]  # of the learned forecast with what is not yet in, 0 … 100
    brier_configured: float  # Σ (probability − outcome)² over the deals closed since
    brier_learned: float
    brier_deals: int


@dataclass(frozen=True)
class Inputs:
    """What a period's parts are forecast from: the deals and snapshots to read (visible,
    narrowed, in their own currency), what was learned at the start and the stages' configured
    probabilities."""

    deals: QuerySet[Deal]
    snapshots: QuerySet[ForecastSnapshot]
    model: LearnedModel
    new_deals: NewDealRates
    configured: dict[int, int]


def period_parts(
    deals: QuerySet[Deal],
    snapshots: QuerySet[ForecastSnapshot],
    *,
    pipeline: Pipeline | None,
    kind: str,
    starts: list[dt.date],
) -> dict[dt.date, tuple[bool, list[Part]]]:
    """Per period start: whether the pipeline then came from that day's snapshot, and the
    parts of `deals` (visible, narrowed, their amounts in their own currency) and `snapshots`
    (the same), each forecast with the model of `pipeline` (None: every one) learned then."""
    if not starts:
        return {}
    taken = snapshot_days(starts)
    configured = dict(Stage.objects.values_list("pk", "probability"))
    models = learn_models(pipeline=pipeline, as_of_days=[day_bounds(s, s)[0] for s in starts])
    result = {}
    for start, model in zip(starts, models, strict=True):
        new_deals = learn_new_deals(day=start, pipeline=pipeline)
        inputs = Inputs(deals, snapshots, model, new_deals, configured)
        from_snapshot = start in taken
        result[start] = (from_snapshot, parts_at(inputs, start, kind, from_snapshot=from_snapshot))
    return result


def snapshot_days(starts: list[dt.date]) -> set[dt.date]:
    """The period starts a daily snapshot was taken on (snapshots cover every open deal at
    once, so this is the same for everyone)."""
    days = ForecastSnapshot.objects.filter(taken_on__in=starts).values_list("taken_on", flat=True)
    return {day for day in (as_date(d) for d in days.distinct().order_by()) if day is not None}


def parts_at(inputs: Inputs, start: dt.date, kind: str, *, from_snapshot: bool) -> list[Part]:
    """The parts of the period of `kind` starting on `start`: one per owner then and currency
    with deals open at the start or deals expected to be created after it."""
    groups: dict[tuple[int, str], list[DealThen]] = defaultdict(list)
    for deal in _open_at_start(inputs, start, from_snapshot=from_snapshot):
        groups[(deal[1], deal[3])].append(deal)
    later = not_yet_per_owner(
        inputs.new_deals,
        inputs.deals.annotate(**{MONEY: F("amount")}),
        starts=[start],
        kind=kind,
    )
    keys = set(groups) | {key for key, expected in later.items() if expected.expected.any()}
    nothing = NotYetInPipeline(expected=np.zeros(1))
    return [
        _Figures.of(groups.get(key, []), inputs.model, start, kind, later.get(key, nothing)).part(
            owner_id=key[0], currency=key[1]
        )
        for key in sorted(keys)
    ]


def _open_at_start(inputs: Inputs, start: dt.date, *, from_snapshot: bool) -> list[DealThen]:
    """The deals open at the start of the day `start`, as they were then, with how they ended.
    A snapshot's probability that is not its stage's configured one was an override."""
    if not from_snapshot:
        return _rebuilt(inputs.deals, start, inputs.configured)
    rows = (
        inputs.snapshots.filter(taken_on=start, status=Deal.Status.OPEN, stage__isnull=False)
        .values_list(
            "stage",
            "owner",
            "amount",
            "currency",
            "probability",
            "expected_close_date",
            "deal__status",
            "deal__won_at",
            "deal__lost_at",
        )
        .order_by()
    )
    configured = inputs.configured
    return [
        (stage, owner, amount, currency, prob, _override(prob, configured.get(stage)), *ended)
        for stage, owner, amount, currency, prob, *ended in cast(Iterable[SnapshotRow], rows)
    ]


def _override(probability: int, configured: int | None) -> int | None:
    return None if probability == configured else probability


def _value_then(name: str, at: dt.datetime, current: str) -> Coalesce:
    """A tracked field's value at `at`, as text: the old value of its first change after `at`,
    else its value now ("" for none)."""
    first_change = FieldChange.objects.filter(deal=OuterRef("pk"), field=name, at__gte=at)
    old = first_change.order_by("at", "id").values("old_value")[:1]
    return Coalesce(Subquery(old), Cast(current, CharField()), output_field=CharField())


def _rebuilt(deals: QuerySet[Deal], day: dt.date, configured: dict[int, int]) -> list[DealThen]:
    """The deals open at the start of `day` rebuilt from history (`open_at_start_of`, which
    also gives the close date then), with the owner, amount and override they had then."""
    at, _ = day_bounds(day, day)
    rows = (
        open_at_start_of(deals, day)
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
        .order_by()
    )
    return [
        (
            stage,
            int(owner),
            amount or None,
            currency,
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
    """One part's open deals as arrays."""

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
        for stage, owner, amount, _, prob, override, close, status, won_at, lost_at in deals:
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

    def part(self, *, owner_id: int, currency: str) -> Part:
        closed = ~np.isnan(self.outcome)
        outcome = self.outcome[closed]
        return Part(
            owner_id=owner_id,
            currency=currency,
            deals=len(self.amount),
            configured=float(np.sum(self.amount * self.configured * self.due)),
            learned=float(np.sum(self.amount * self.learned * self.share)),
            not_yet_in_pipeline=float(self.not_yet.expected.sum()),
            percentiles=self._percentiles(),
            brier_configured=float(np.sum((self.configured[closed] - outcome) ** 2)),
            brier_learned=float(np.sum((self.learned[closed] - outcome) ** 2)),
            brier_deals=int(closed.sum()),
        )

    def _percentiles(self) -> list[float]:
        if not len(self.amount) and not self.not_yet.expected.any():
            return [0.0] * len(PERCENTILES)
        ranges = simulate(
            amounts=self.amount,
            probabilities=self.learned,
            shares=self.share.reshape(-1, 1),
            draws=DRAWS,
            uncertain=self.uncertain,
            not_yet=self.not_yet,
        )
        return [float(v) for v in np.percentile(ranges.won[:, 0], PERCENTILES)]


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
