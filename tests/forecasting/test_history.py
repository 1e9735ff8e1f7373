"""Learned probabilities, daily snapshots, forecast accuracy, pipeline as of a date, movement."""

import datetime as dt
from decimal import Decimal

import pytest

from deals.models import Deal, FieldChange
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.learning import learn_model
from forecasting.models import ForecastSnapshot
from forecasting.services import take_snapshot
from forecasting.tasks import take_forecast_snapshot
from tests.factories import stage_named
from tests.forecasting.conftest import TODAY, at, closed_deals_through, make_deal

pytestmark = pytest.mark.django_db


def test_learned_probability_is_the_share_won_with_no_minimum_sample(people):
    rep = people["rep"]
    closed_deals_through(rep, "Proposal", won=12, lost=18)
    closed_deals_through(rep, "Contact", won=0, lost=0)
    stages = {p.stage: p for p in analytics.stage_probabilities(Scope(user=rep))}
    proposal = stages["Proposal"]
    assert (proposal.closed, proposal.won) == (30, 12)
    assert proposal.learned == Decimal("0.4000")
    assert proposal.configured == 55
    # Every one of the 30 passed through Prospecting too.
    assert stages["Prospecting"].learned == Decimal("0.4000")
    # No cliff at a sample size: 12 closed deals behind a stage give a learned figure too;
    # a stage no closed deal reached has none.
    assert (stages["Closed"].closed, stages["Closed"].learned) == (12, Decimal("1.0000"))
    assert (stages["Negotiation"].closed, stages["Negotiation"].learned) == (0, None)


def test_stage_probabilities_add_up_every_owners_deals_alike_for_every_viewer(people):
    closed_deals_through(people["rep"], "Proposal", won=3, lost=2)
    closed_deals_through(people["outsider"], "Proposal", won=1, lost=4)  # another team

    seen_by = {
        who: {p.stage: (p.closed, p.won) for p in analytics.stage_probabilities(Scope(user=user))}
        for who, user in people.items()
    }
    model = learn_model(timing=False)  # what the learned forecast weighs deals by

    assert seen_by["rep"]["Proposal"] == (10, 4)  # the outsider's five count too
    assert seen_by["rep"]["Closed"] == (4, 4)
    assert all(seen == seen_by["rep"] for seen in seen_by.values())
    assert {
        p.stage_id: (p.closed, p.won)
        for p in analytics.stage_probabilities(Scope(user=people["rep"]))
    } == {pk: (stage.closed, stage.won) for pk, stage in model.stages.items()}


def test_forecast_with_learned_probabilities_uses_them_where_known(people):
    rep = people["rep"]
    closed_deals_through(rep, "Proposal", won=11, lost=19)
    make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")
    make_deal(rep, "Negotiation", amount="1000.00", close="2026-11-20")  # too little history
    make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20", probability_override=90)
    scope = Scope(user=rep)
    configured = analytics.forecast(scope, today=TODAY).current
    learned = analytics.forecast(scope, probabilities="learned", today=TODAY).current
    assert configured.weighted == Decimal("550.00") + Decimal("750.00") + Decimal("900.00")
    # 11 / 30 = 0.3667 → 36.67 % of 1000; the override still wins.
    assert learned.weighted == Decimal("366.70") + Decimal("750.00") + Decimal("900.00")
    # Below 40 % the Proposal deal moves from best case into pipeline.
    assert (configured.best_case, configured.pipeline) == (Decimal("1000.00"), Decimal(0))
    assert (learned.best_case, learned.pipeline) == (Decimal(0), Decimal("1000.00"))


def test_snapshot_task_records_each_open_deal_once_a_day(people):
    rep = people["rep"]
    open_deal = make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")
    make_deal(rep, "Closed", amount="5.00")
    make_deal(rep, "Contact", status=Deal.Status.LOST)
    assert take_forecast_snapshot("2026-11-15") == 1
    assert take_forecast_snapshot("2026-11-15") == 0  # idempotent
    take_forecast_snapshot()  # today
    snapshot = ForecastSnapshot.objects.get(taken_on=dt.date(2026, 11, 15))
    assert (snapshot.deal_id, snapshot.amount, snapshot.probability) == (
        open_deal.pk,
        Decimal("1000.00"),
        55,
    )
    assert snapshot.stage == stage_named("Proposal")
    assert ForecastSnapshot.objects.count() == 2


def test_pipeline_as_of_a_day_from_history(funnel_world):
    FieldChange.objects.create(
        deal=funnel_world["b"],
        field="status",
        old_value="open",
        new_value="lost",
        at=at("2026-10-10", 0),
    )
    result = analytics.pipeline_as_of(Scope(user=funnel_world["a"].owner), dt.date(2026, 10, 15))
    assert result.source == "history"
    assert [(s.name, s.deals, s.amount, s.weighted) for s in result.stages] == [
        ("Qualification", 1, Decimal("700.00"), Decimal("140.00")),
        ("Contact", 2, Decimal("3000.00"), Decimal("1050.00")),
        ("Proposal", 1, Decimal("3000.00"), Decimal("1650.00")),
    ]


def test_pipeline_as_of_a_day_uses_that_days_snapshot(people):
    rep = people["rep"]
    deal = make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")
    take_snapshot(day=dt.date(2026, 11, 1))
    Deal.objects.filter(pk=deal.pk).update(amount=Decimal("5.00"))  # changed since
    result = analytics.pipeline_as_of(Scope(user=rep), dt.date(2026, 11, 1))
    assert result.source == "snapshot"
    assert [(s.name, s.deals, s.amount, s.weighted) for s in result.stages] == [
        ("Proposal", 1, Decimal("1000.00"), Decimal("550.00")),
    ]


def test_movement_since_a_day(funnel_world):
    c, b = funnel_world["c"], funnel_world["b"]
    FieldChange.objects.create(
        deal=c,
        field="expected_close_date",
        old_value="2026-10-30",
        new_value="2026-11-05",
        at=at("2026-10-20"),
    )
    FieldChange.objects.create(
        deal=b,
        field="expected_close_date",
        old_value="2026-10-05",
        new_value="2026-10-25",
        at=at("2026-10-20"),
    )
    scope = Scope(user=c.owner)
    result = analytics.movement_since(scope, dt.date(2026, 10, 15))
    assert {name: (n, amount) for name, n, amount in result.rows()} == {
        "new": (0, Decimal(0)),
        "advanced": (4, Decimal("6700.00")),
        "slipped": (1, Decimal("700.00")),
        "won": (2, Decimal("4000.00")),
        "lost": (1, Decimal("2000.00")),
    }
    # Within the quarter the close date did not leave its period.
    quarterly = analytics.movement_since(scope, dt.date(2026, 10, 15), period="quarter")
    assert quarterly.counts["slipped"] == 0
