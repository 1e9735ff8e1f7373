"""The running counts behind the learned probabilities (`forecasting.models.StageReach`, kept by
PostgreSQL triggers) always equal the history counted afresh, whatever changes it."""

import pytest
from django.db import connection

from deals.models import Deal, DeletedDeal, StageChange
from deals.services.trash import archive_and_delete, restore_deals
from forecasting.analytics.learning import _counted_reach, _reached_counts
from tests.factories import StageFactory, default_pipeline, stage_named
from tests.forecasting.conftest import at, closed_deals_through, history, make_deal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the running counts are PostgreSQL's"
    ),
]


def _same():
    kept = {s: dict(o) for s, o in _reached_counts(None, None).items() if o}
    counted = {s: dict(o) for s, o in _counted_reach(None, None).items() if o}
    assert kept == counted
    return kept


def test_the_running_counts_follow_every_change_of_the_history(people):
    rep, teammate, admin = people["rep"], people["teammate"], people["admin"]
    closed_deals_through(rep, "Proposal", won=3, lost=2)
    assert _same()[stage_named("Proposal").pk][rep.pk] == (5, 3)
    deal = make_deal(rep, "Proposal")
    history(deal, ("Prospecting", "2026-10-01"), ("Proposal", "2026-10-05"))
    _same()
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.WON)  # won
    _same()
    history(deal, ("Proposal", "2026-10-20"))  # entered again: still counted once
    counts = _same()
    assert counts[stage_named("Proposal").pk][rep.pk] == (6, 4)
    Deal.objects.filter(pk=deal.pk).update(owner=teammate)  # a closed deal changes hands
    _same()
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.OPEN)  # reopened
    _same()
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.LOST)
    StageChange.objects.filter(deal=deal, to_stage=stage_named("Proposal")).first().delete()
    _same()  # one of its two Proposal entries gone: still reached
    StageChange.objects.filter(deal=deal).delete()
    _same()
    # One statement inserting the same pair twice counts it once.
    StageChange.objects.bulk_create(
        StageChange(deal=deal, to_stage=stage_named("Contact"), at=at("2026-10-0" + str(day)))
        for day in (1, 2)
    )
    _same()
    # A deleted stage leaves its entries behind without a stage.
    extra = StageFactory(pipeline=default_pipeline(), name="Extra", order=99)
    StageChange.objects.create(deal=deal, to_stage=extra, at=at("2026-10-09"))
    _same()
    extra.delete()
    _same()
    # The trash: deleting a closed deal subtracts it, restoring adds it back.
    entry = archive_and_delete(deal, by=admin)
    _same()
    restore_deals(entries=[DeletedDeal.objects.get(pk=entry.pk)], by=admin)
    _same()
