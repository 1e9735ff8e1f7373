"""Where won deals landed, seen from the start of each period they were open at.

A forecast is made at some moment about the deals open then: a deal in Proposal whose close
date lies two months ahead may still be won this month (reps often set far dates and sign
sooner), or slip past its date. So for the `SLIP_SAMPLE` most recently won deals, at the start
of every month (and quarter) they were open at, this counts the stage they were in, how many
periods ahead their expected close date then lay (0: this period, or already past), and how
many periods later they were won. `Landing.shares` turns the counts of a stage and a distance
ahead into the share of a won deal closing in each coming period, shrunk toward every stage's
at that distance (`SLIP_STRENGTH` deals' worth). Three queries, none over more than the
sample's deals and their history rows.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from deals.models import Deal, FieldChange, Pipeline, Stage, StageChange
from forecasting import periods
from forecasting.analytics.scope import day_bounds

KINDS = ("month", "quarter")
# Counts per kind: {(stage id, periods ahead): [won deals landing 0, 1, … periods later]}.
Counts = dict[str, dict[tuple[int, int], list[int]]]


@dataclass
class Landing:
    counts: Counts = field(default_factory=dict)
    pooled: dict[str, dict[int, list[int]]] = field(default_factory=dict)  # per kind, ahead

    @classmethod
    def of(cls, counts: Counts) -> Landing:
        pooled: dict[str, dict[int, list[int]]] = {kind: {} for kind in counts}
        for kind, by_key in counts.items():
            for (_, ahead), offsets in by_key.items():
                total = pooled[kind].setdefault(ahead, [])
                total.extend([0] * (len(offsets) - len(total)))
                for i, n in enumerate(offsets):
                    total[i] += n
        return cls(counts=counts, pooled=pooled)

    def shares(
        self, *, stage_id: int, kind: str, ahead: int, count: int, strength: float
    ) -> list[float] | None:
        """P(a won deal `ahead` periods from its expected one closes j periods from now),
        j = 0 … count − 1; None when no deal was ever seen that far ahead."""
        pooled = self.pooled.get(kind, {}).get(ahead, [])
        if not sum(pooled):
            return None
        prior = [n / sum(pooled) for n in _padded(pooled, count)]
        own = _padded(self.counts.get(kind, {}).get((stage_id, ahead), []), count)
        total = sum(self.counts.get(kind, {}).get((stage_id, ahead), []))
        return [(n + strength * p) / (total + strength) for n, p in zip(own, prior, strict=True)]


def _padded(offsets: list[int], count: int) -> list[int]:
    return (offsets + [0] * count)[:count]


def landing_counts(pipeline: Pipeline | None, as_of: dt.datetime | None, sample: int) -> Counts:
    """The counts of the `sample` deals won last before `as_of` (see the module)."""
    won = Deal.objects.filter(status=Deal.Status.WON, won_at__isnull=False)
    if as_of is not None:
        won = won.filter(won_at__lt=as_of)
    if pipeline is not None:
        won = won.filter(pipeline=pipeline)
    deals = list(
        won.order_by("-won_at").values_list("pk", "created_at", "won_at", "expected_close_date")[
            :sample
        ]
    )
    history = _History.of([pk for pk, *_ in deals], as_of)
    counts: Counts = {kind: {} for kind in KINDS}
    starts = _Starts(timezone.get_current_timezone())
    for pk, created, won_at, own in deals:
        if won_at is None:
            continue
        won_on = won_at.astimezone(starts.zone).date()
        for kind in KINDS:
            for start, at in starts.open(created, won_at, kind):
                stage, expected = history.stage_at(pk, at), history.expected_at(pk, at, own)
                if stage is None or expected is None:
                    continue
                ahead = max(0, _between(start, expected, kind))
                offset = _between(start, won_on, kind)
                landed = counts[kind].setdefault((stage, ahead), [])
                landed.extend([0] * (offset + 1 - len(landed)))
                landed[offset] += 1
    return counts


@dataclass
class _Starts:
    """Period starts as days and moments (in the current time zone), each worked out once."""

    zone: dt.tzinfo
    moments: dict[dt.date, dt.datetime] = field(default_factory=dict)
    following: dict[tuple[dt.date, str], dt.date] = field(default_factory=dict)

    def open(
        self, created: dt.datetime, won_at: dt.datetime, kind: str
    ) -> list[tuple[dt.date, dt.datetime]]:
        """The period starts (day, moment) a deal was open at: after its creation, up to its
        win."""
        start = self._next(periods.period_start(created.astimezone(self.zone).date(), kind), kind)
        found = []
        while (at := self._moment(start)) <= won_at:
            found.append((start, at))
            start = self._next(start, kind)
        return found

    def _moment(self, day: dt.date) -> dt.datetime:
        if day not in self.moments:
            self.moments[day] = day_bounds(day, day)[0]
        return self.moments[day]

    def _next(self, start: dt.date, kind: str) -> dt.date:
        if (start, kind) not in self.following:
            self.following[(start, kind)] = periods.shift(start, kind, 1)
        return self.following[(start, kind)]


def _between(start: dt.date, day: dt.date, kind: str) -> int:
    """Periods from the one starting on `start` to the one holding `day` (negative: before)."""
    months = (day.year - start.year) * 12 + day.month - start.month
    return months // 3 if kind == "quarter" else months


@dataclass
class _History:
    """The sample's stage entries and close-date changes, per deal, in time order."""

    moves: dict[int, list[tuple[dt.datetime, int | None]]]
    dates: dict[int, list[tuple[dt.datetime, str, str]]]

    @classmethod
    def of(cls, ids: list[int], as_of: dt.datetime | None) -> _History:
        entries = StageChange.objects.filter(deal_id__in=ids, to_stage__isnull=False)
        changes = FieldChange.objects.filter(deal_id__in=ids, field="expected_close_date")
        if as_of is not None:
            entries, changes = entries.filter(at__lt=as_of), changes.filter(at__lt=as_of)
        moves: dict[int, list[tuple[dt.datetime, int | None]]] = defaultdict(list)
        rows = entries.order_by("deal_id", "at", "id").values_list(
            "deal_id", "at", "to_stage_id", "to_stage__kind"
        )
        for deal_id, at, stage_id, kind in rows:
            moves[deal_id].append((at, stage_id if kind == Stage.Kind.OPEN else None))
        dates: dict[int, list[tuple[dt.datetime, str, str]]] = defaultdict(list)
        for deal_id, at, old, new in changes.order_by("deal_id", "at", "id").values_list(
            "deal_id", "at", "old_value", "new_value"
        ):
            dates[deal_id].append((at, old or "", new or ""))
        return cls(moves=moves, dates=dates)

    def stage_at(self, deal_id: int, at: dt.datetime) -> int | None:
        """The open stage the deal was in at `at` (None: none, or a closed one)."""
        moves = self.moves.get(deal_id, [])
        index = bisect.bisect_left([m for m, _ in moves], at)
        return moves[index - 1][1] if index else None

    def expected_at(self, deal_id: int, at: dt.datetime, own: dt.date | None) -> dt.date | None:
        """Its expected close date at `at`: the last set before, else the one the first later
        change replaced, else its own."""
        changes = self.dates.get(deal_id, [])
        index = bisect.bisect_left([c for c, _, _ in changes], at)
        if index:
            text = changes[index - 1][2]
        elif changes:
            text = changes[0][1]
        else:
            return own
        return dt.date.fromisoformat(text[:10]) if text else None
