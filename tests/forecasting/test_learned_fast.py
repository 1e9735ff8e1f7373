"""The learned model and forecast made fast for big databases give the same figures:
`learn_models` (many days at once) equals `learn_model(as_of=day)` day by day, in a bounded
number of queries, and the learned forecast's open deals fetched as integers keep every cent."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from deals.models import Deal
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.learning import LearnedModel, learn_model, learn_models
from tests.factories import stage_named
from tests.forecasting.conftest import TODAY, at, history, make_deal
from tests.forecasting.simulated import history_with_slips

pytestmark = pytest.mark.django_db

DAYS = [at("2025-07-01", 0), at("2025-03-01", 0), at("2025-12-01", 0), at("2025-03-01", 0)]


def _figures(model: LearnedModel) -> dict:
    return {
        stage_id: (s.closed, s.won, s.rep_counts, s.reps, s.teams, s.configured)
        for stage_id, s in model.stages.items()
    } | {"slips": model.slips, "all": model.all_slips}


@pytest.fixture
def learned_history(people):
    rep, teammate, outsider = people["rep"], people["teammate"], people["outsider"]
    history_with_slips(rep, "Proposal", win_rate=0.4, slips=[0.6, 0.4], deals=120, seed=1)
    history_with_slips(teammate, "Negotiation", win_rate=0.6, slips=[0.5, 0.5], deals=80, seed=2)
    history_with_slips(outsider, "Proposal", win_rate=0.2, slips=[1.0], deals=40, seed=3)
    # Entered a stage again, and entered one only after it was lost: known from the later.
    again = make_deal(rep, "Proposal", status=Deal.Status.LOST, lost_at=at("2025-05-10"))
    history(again, ("Prospecting", "2025-02-01"), ("Proposal", "2025-02-10"))
    history(again, ("Proposal", "2025-04-01"))
    late = make_deal(teammate, "Proposal", status=Deal.Status.LOST, lost_at=at("2025-02-10"))
    history(late, ("Prospecting", "2025-02-01"), ("Proposal", "2025-08-01"))


def test_learning_many_days_at_once_gives_each_days_model(learned_history):
    together = learn_models(as_of_days=DAYS)
    assert [_figures(m) for m in together] == [_figures(learn_model(as_of=d)) for d in DAYS]
    proposal = stage_named("Proposal").pk
    counts = [m.stages[proposal].closed for m in together]
    assert counts[1] < counts[0] < counts[2]  # more is known later


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one model at a time elsewhere")
def test_learning_many_days_without_timing_takes_a_fixed_number_of_queries(
    learned_history, django_assert_max_num_queries
):
    days = [at(f"2025-{month:02d}-01", 0) for month in range(1, 13)]
    # Stages, teams, the counts (with its transaction's two settings): whatever the days.
    with django_assert_max_num_queries(7):
        models = learn_models(as_of_days=days, timing=False)
    assert [_figures(m) for m in models] == [
        _figures(learn_model(as_of=d, timing=False)) for d in days
    ]
    assert learn_models(as_of_days=[]) == []


def test_the_learned_forecast_keeps_every_cent_of_odd_amounts(people):
    rep = people["rep"]
    make_deal(rep, "Proposal", amount="1234.57", close="2026-11-20", probability_override=37)
    make_deal(rep, "Proposal", amount="0.29", close="2026-11-21", probability_override=100)
    make_deal(rep, "Proposal", amount=None, close="2026-11-22", probability_override=50)
    make_deal(rep, "Negotiation", amount="99.99", close=None, probability_override=10)
    result = analytics.forecast(
        Scope(user=rep),
        probabilities="learned",
        today=TODAY,
        since=dt.date(2026, 11, 1),
        until=dt.date(2026, 11, 30),
    )
    november = result.periods[0]
    assert november.deals == 3
    assert november.weighted == analytics.money(Decimal("1234.57") * Decimal("0.37")) + Decimal(
        "0.29"
    )
    assert november.commit + november.best_case + november.pipeline == Decimal("1234.86")
    assert result.unscheduled.weighted == Decimal("10.00")
    assert result.unscheduled.pipeline == Decimal("99.99")
