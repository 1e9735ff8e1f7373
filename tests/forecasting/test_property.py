"""Random small pipelines: the database totals equal a plain Python computation of the rules."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deals.models import Deal
from forecasting import analytics, periods
from forecasting.analytics import Scope
from tests.factories import DealFactory, PipelineFactory, StageFactory, UserFactory
from tests.forecasting.conftest import TODAY

pytestmark = pytest.mark.django_db

stage_st = st.tuples(st.integers(0, 100), st.booleans())  # probability, flagged commit
deal_st = st.fixed_dictionaries(
    {
        "stage": st.integers(0, 3),
        "status": st.sampled_from(["open", "open", "won", "lost"]),
        "amount": st.one_of(
            st.none(), st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)
        ),
        "override": st.one_of(st.none(), st.integers(0, 100)),
        "close": st.one_of(st.none(), st.integers(-120, 240)),
        "won_days_ago": st.integers(0, 200),
    }
)


def python_forecast(deals, stages, kind):
    """The rules of the module docstring, written out plainly."""
    first, last = periods.default_window(TODAY, kind)
    totals = {k: Decimal(0) for k in ("weighted", "commit", "best_case", "pipeline", "won")}
    count = 0
    for d in deals:
        probability, flagged = stages[d["stage"]]
        if d["status"] == "won":
            won_on = TODAY - dt.timedelta(days=d["won_days_ago"])
            if first <= won_on <= last:
                totals["won"] += d["amount"] or 0
            continue
        close = None if d["close"] is None else TODAY + dt.timedelta(days=d["close"])
        if d["status"] != "open" or close is None or not first <= close <= last:
            continue
        p = d["override"] if d["override"] is not None else probability
        amount = d["amount"] or Decimal(0)
        count += 1
        totals["weighted"] += amount * p / 100
        if flagged or p >= 70:
            totals["commit"] += amount
        elif p >= 40:
            totals["best_case"] += amount
        else:
            totals["pipeline"] += amount
    cents = {k: v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for k, v in totals.items()}
    return cents, count


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stages=st.lists(stage_st, min_size=4, max_size=4),
    deals=st.lists(deal_st, max_size=12),
    kind=st.sampled_from(["month", "quarter"]),
)
def test_random_pipelines_give_the_same_totals_as_python(admin_user, stages, deals, kind):
    with transaction.atomic():
        pipeline = PipelineFactory()
        stage_rows = [
            StageFactory(pipeline=pipeline, order=i + 1, probability=p, is_commit=flag)
            for i, (p, flag) in enumerate(stages)
        ]
        owner = UserFactory()
        for d in deals:
            won_at = None
            if d["status"] == "won":
                won_day = TODAY - dt.timedelta(days=d["won_days_ago"])
                won_at = dt.datetime.combine(won_day, dt.time(12), tzinfo=dt.UTC)
            DealFactory(
                pipeline=pipeline,
                stage=stage_rows[d["stage"]],
                owner=owner,
                status=d["status"],
                amount=d["amount"],
                probability_override=d["override"],
                expected_close_date=None
                if d["close"] is None
                else TODAY + dt.timedelta(days=d["close"]),
                won_at=won_at,
            )
        result = analytics.forecast(
            Scope(user=admin_user, pipeline=pipeline), period=kind, today=TODAY
        )
        expected, count = python_forecast(deals, stages, kind)
        got = result.totals
        assert {
            "weighted": analytics.money(got.weighted),
            "commit": analytics.money(got.commit),
            "best_case": analytics.money(got.best_case),
            "pipeline": analytics.money(got.pipeline),
            "won": analytics.money(got.won),
        } == expected
        assert got.deals == count
        # Each period's categories add up to the amounts due in it.
        assert Deal.objects.filter(pipeline=pipeline).count() == len(deals)
        transaction.set_rollback(True)
