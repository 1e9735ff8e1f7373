"""A deal's probability has one definition (`deals.models.effective_probability`: the override,
else the stage's): the forecast, the daily snapshot and the pipeline as of a past day agree."""

import datetime as dt
from decimal import Decimal

import pytest

from deals.models import Deal
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.models import ForecastSnapshot
from forecasting.services import take_snapshot
from tests.factories import stage_named
from tests.forecasting.conftest import TODAY, history, make_deal

pytestmark = pytest.mark.django_db


def test_the_snapshot_records_the_override_else_the_stages_probability(people):
    rep, outsider = people["rep"], people["outsider"]
    plain = make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")
    overridden = make_deal(rep, "Proposal", amount="2000.00", probability_override=90)
    elsewhere = make_deal(outsider, "Contact", amount="300.00", currency="EUR")
    make_deal(rep, "Closed", amount="5.00")
    make_deal(rep, "Proposal", status=Deal.Status.LOST)
    assert take_snapshot(day=TODAY) == 3  # every open deal, whoever owns it, in any currency
    rows = {
        s.deal_id: (s.probability, s.amount, s.stage_id, s.owner_id, s.currency, s.status)
        for s in ForecastSnapshot.objects.filter(taken_on=TODAY)
    }
    proposal, contact = stage_named("Proposal").pk, stage_named("Contact").pk
    assert rows == {
        plain.pk: (55, Decimal("1000.00"), proposal, rep.pk, "USD", "open"),
        overridden.pk: (90, Decimal("2000.00"), proposal, rep.pk, "USD", "open"),
        elsewhere.pk: (35, Decimal("300.00"), contact, outsider.pk, "EUR", "open"),
    }
    snapshot = ForecastSnapshot.objects.get(deal=plain, taken_on=TODAY)
    assert (snapshot.pipeline_id, snapshot.expected_close_date) == (
        plain.pipeline_id,
        dt.date(2026, 11, 20),
    )


def test_a_second_snapshot_the_same_day_keeps_the_first(people):
    deal = make_deal(people["rep"], "Proposal", amount="1000.00")
    assert take_snapshot(day=TODAY) == 1
    Deal.objects.filter(pk=deal.pk).update(probability_override=10, amount=Decimal("1.00"))
    assert take_snapshot(day=TODAY) == 0
    snapshot = ForecastSnapshot.objects.get(deal=deal, taken_on=TODAY)
    assert (snapshot.probability, snapshot.amount) == (55, Decimal("1000.00"))
    assert take_snapshot(day=TODAY + dt.timedelta(days=1)) == 1


def test_the_forecast_and_the_snapshot_weigh_the_same_deals_alike(people):
    rep = people["rep"]
    make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")
    make_deal(rep, "Negotiation", amount="400.00", close="2026-11-25", probability_override=30)
    make_deal(rep, "Prospecting", amount="250.00", close="2026-11-28", probability_override=0)
    take_snapshot(day=TODAY)
    november = analytics.forecast(Scope(user=rep), today=TODAY).current
    snapshots = ForecastSnapshot.objects.filter(taken_on=TODAY)
    from_snapshots = sum((s.amount * s.probability for s in snapshots), Decimal(0)) / 100
    assert november.weighted == from_snapshots == Decimal("670.00")


def test_pipeline_as_of_a_day_weighs_by_the_stage_then_unless_overridden(people):
    """From history: a deal since moved on counts at the probability of the stage it was in
    then; an overridden one at its override, whatever the stage."""
    rep = people["rep"]
    moved = make_deal(rep, "Negotiation", amount="1000.00", created="2026-10-01")
    history(moved, ("Contact", "2026-10-01"), ("Negotiation", "2026-10-20"))
    overridden = make_deal(
        rep, "Negotiation", amount="2000.00", created="2026-10-01", probability_override=10
    )
    history(overridden, ("Contact", "2026-10-01"), ("Negotiation", "2026-10-20"))
    result = analytics.pipeline_as_of(Scope(user=rep), dt.date(2026, 10, 10))
    assert result.source == "history"
    assert [(s.name, s.deals, s.amount, s.weighted) for s in result.stages] == [
        # 1000 × 35 % (Contact, not today's Negotiation) + 2000 × 10 % (the override).
        ("Contact", 2, Decimal("3000.00"), Decimal("550.00")),
    ]
    later = analytics.pipeline_as_of(Scope(user=rep), dt.date(2026, 10, 25))
    assert [(s.name, s.weighted) for s in later.stages] == [("Negotiation", Decimal("950.00"))]
