"""Generated histories with a known truth, for the learned model's tests: deals that reach a
stage with an expected close date and are won a known number of periods later (or lost)."""

import datetime as dt
from decimal import Decimal

import numpy as np

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
