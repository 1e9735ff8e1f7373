"""Generated histories with a known truth, for the learned model's tests: deals that reach a
stage with an expected close date and are won a known number of periods later (or lost)."""

import datetime as dt
from decimal import Decimal

import numpy as np
from django.db.models import F

from deals.models import Deal, StageChange
from forecasting import periods
from tests.factories import default_pipeline, stage_named

FIRST_ENTRY = dt.date(2025, 1, 1)


def history_with_slips(
    owner, stage: str, *, win_rate: float, slips: list[float], deals: int, seed=0
):
    """`deals` closed deals that entered `stage` on days spread over 2025, expecting to close in
    the month they entered; each won with `win_rate`, `k` months after the expected one with
    probability `slips[k]`. Returns the numbers drawn: {"won": n, "slips": [n per k]}."""
    rng = np.random.default_rng(seed)
    pipeline, stage_obj, closed = default_pipeline(), stage_named(stage), stage_named("Closed")
    wins = rng.random(deals) < win_rate
    offsets = rng.choice(len(slips), size=deals, p=slips)
    rows = []
    for i in range(deals):
        entered = FIRST_ENTRY + dt.timedelta(days=int(i * 360 / deals))
        expected = periods.period_end(periods.period_start(entered, "month"), "month")
        won_on = periods.shift(periods.period_start(expected, "month"), "month", int(offsets[i]))
        rows.append(
            Deal(
                title=f"History {i}",
                pipeline=pipeline,
                stage=closed if wins[i] else stage_obj,
                status=Deal.Status.WON if wins[i] else Deal.Status.LOST,
                owner=owner,
                amount=Decimal("1000.00"),
                expected_close_date=expected,
                stage_entered_at=_moment(entered),
                won_at=_moment(won_on + dt.timedelta(days=9)) if wins[i] else None,
                lost_at=None if wins[i] else _moment(entered + dt.timedelta(days=20)),
                position=i,
            )
        )
    made = Deal.objects.bulk_create(rows)
    StageChange.objects.bulk_create(
        StageChange(deal=d, to_stage=stage_obj, to_stage_name=stage, at=d.stage_entered_at)
        for d in made
    )
    counts = np.bincount(offsets[wins], minlength=len(slips))
    return {"won": int(wins.sum()), "slips": [int(n) for n in counts]}


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def history_with_new_wins(
    owner,
    *,
    first: dt.date,
    months: int,
    per_month: int,
    won_after: list[float],
    seed=0,
    growth=1.0,
):
    """`per_month` deals (× `growth` per month) created in each of `months` months from `first`
    (days 1–10), each won `k` months after its creation month (day 20) with probability
    `won_after[k]`, else lost on day 25 of its creation month: a known share of what is created
    won in the same month, the next, …"""
    rng = np.random.default_rng(seed)
    pipeline, closed, lost_in = default_pipeline(), stage_named("Closed"), stage_named("Contact")
    outcome = [*won_after, 1 - sum(won_after)]
    rows = []
    for month in range(months):
        start = periods.shift(first, "month", month)
        size = round(per_month * growth**month)
        for i, k in enumerate(rng.choice(len(outcome), size=size, p=outcome)):
            created = _moment(start + dt.timedelta(days=int(rng.integers(0, 10))))
            won = k < len(won_after)
            rows.append(
                Deal(
                    title=f"New {month}-{i}",
                    pipeline=pipeline,
                    stage=closed if won else lost_in,
                    status=Deal.Status.WON if won else Deal.Status.LOST,
                    owner=owner,
                    amount=Decimal("1000.00"),
                    stage_entered_at=created,
                    won_at=_moment(periods.shift(start, "month", int(k)) + dt.timedelta(days=19))
                    if won
                    else None,
                    lost_at=None if won else created + dt.timedelta(days=15),
                    position=i,
                )
            )
    made = Deal.objects.bulk_create(rows)
    # created_at is set on insert: the creation day is the one the deal entered its stage.
    Deal.objects.filter(pk__in=[d.pk for d in made]).update(created_at=F("stage_entered_at"))


def history_with_early_wins(
    owner, stage: str, *, months: int, per_month: int, early: float, seed=0
):
    """Won deals entering `stage` on days 2–5 of each of `months` months from 2025-01, expecting
    to close two months later (the 15th): with probability `early` won on the 10th of the next
    month (a month before the date), else on the 10th of the month after the expected one.
    Returns how many were won early and late."""
    rng = np.random.default_rng(seed)
    pipeline, stage_obj, closed = default_pipeline(), stage_named(stage), stage_named("Closed")
    rows, early_wins = [], 0
    for month in range(months):
        start = periods.shift(FIRST_ENTRY, "month", month)
        for i in range(per_month):
            is_early = bool(rng.random() < early)
            early_wins += is_early
            created = _moment(start + dt.timedelta(days=int(rng.integers(1, 5))))
            won_on = periods.shift(start, "month", 1 if is_early else 3) + dt.timedelta(days=9)
            rows.append(
                Deal(
                    title=f"Early {month}-{i}",
                    pipeline=pipeline,
                    stage=closed,
                    status=Deal.Status.WON,
                    owner=owner,
                    amount=Decimal("1000.00"),
                    expected_close_date=periods.shift(start, "month", 2) + dt.timedelta(days=14),
                    stage_entered_at=created,
                    won_at=_moment(won_on),
                    position=i,
                )
            )
    made = Deal.objects.bulk_create(rows)
    Deal.objects.filter(pk__in=[d.pk for d in made]).update(created_at=F("stage_entered_at"))
    StageChange.objects.bulk_create(
        StageChange(deal=d, to_stage=stage_obj, to_stage_name=stage, at=d.stage_entered_at)
        for d in made
    )
    total = months * per_month
    return {"early": early_wins, "late": total - early_wins}
