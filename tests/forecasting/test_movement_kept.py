"""On PostgreSQL, movement reads when each deal last advanced and last slipped from the deal
itself (`Deal.advanced_at`, `slipped_month_at`, `slipped_quarter_at`, kept by triggers), and its
figures from running counts (`MoveDay`, kept by triggers on the deals): the deals behind each
figure are the ones the history gives, and the figures count them, whatever changes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from currencies.models import ExchangeRate
from deals.models import Deal, FieldChange, StageChange
from deals.services.editing import update_deal
from deals.services.moves import move_deal
from deals.services.pipelines import reorder_stages
from forecasting.analytics.movement import (
    _counted_moves,
    _moves,
    _moves_in_history,
    _scanned_moves,
)
from forecasting.analytics.scope import Scope, day_bounds, scoped_deals
from forecasting.models import MoveDay
from forecasting.services import compact_running_counts
from tests.factories import StageFactory, default_pipeline, stage_named
from tests.forecasting.conftest import at, close_deal, history, make_deal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the columns are PostgreSQL's"),
]

SINCE = [dt.date(2026, 10, d) for d in (1, 5, 10, 15, 20, 25)] + [timezone.localdate()]
MOVES = ("new", "advanced", "slipped", "won", "lost")


def _same(admin, *others) -> dict:
    """Every move since every day, by month and quarter: the same deals both ways, and the
    running counts' figures theirs (for the admin and `others`' scopes)."""
    deals = scoped_deals(Scope(user=admin))
    found = {}
    for since in SINCE:
        start, _ = day_bounds(since, since)
        for period in ("month", "quarter"):
            kept, replayed = _moves(start, period), _moves_in_history(start, period)
            for move in MOVES:
                ids = set(deals.filter(kept[move]).values_list("pk", flat=True))
                assert ids == set(deals.filter(replayed[move]).values_list("pk", flat=True))
                found[since, period, move] = ids
            for scope in (Scope(user=admin), *others):
                counted = _figures(_counted_moves(scope, since, period))
                assert counted == _figures(_scanned_moves(scope, since, period))
    return found


def _figures(figures):
    return {move: (n, Decimal(amount or 0)) for move, (n, amount) in figures.items() if n}


def _close_date(deal, old: str, new: str, day: str) -> None:
    FieldChange.objects.create(
        deal=deal, field="expected_close_date", old_value=old, new_value=new, at=at(day)
    )


def test_the_kept_moves_follow_every_change_of_the_history(people):
    rep, admin = people["rep"], people["admin"]
    a = make_deal(rep, "Proposal", close="2026-11-20")
    history(a, ("Prospecting", "2026-10-02"), ("Contact", "2026-10-08"), ("Proposal", "2026-10-12"))
    b = make_deal(rep, "Contact", close="2026-10-30")
    history(b, ("Proposal", "2026-10-03"), ("Contact", "2026-10-16"))  # went back
    _close_date(b, "2026-10-12", "2026-10-30", "2026-10-04")  # same month
    _close_date(b, "2026-10-10", "2026-11-10", "2026-10-06")  # next month, same quarter
    _close_date(a, "2026-12-20", "2027-01-05", "2026-10-18")  # next quarter
    _close_date(a, "", "2026-11-20", "2026-10-21")  # no date before: not a slip
    found = _same(admin)
    assert found[dt.date(2026, 10, 10), "month", "advanced"] == {a.pk}
    assert found[dt.date(2026, 10, 5), "month", "slipped"] == {b.pk, a.pk}
    assert found[dt.date(2026, 10, 5), "quarter", "slipped"] == {a.pk}
    # The services move the deal, then save it: the kept moment survives the save.
    b.refresh_from_db()
    move_deal(deal=b, by=admin, stage=stage_named("Proposal"), version=b.version)
    assert _same(admin)[dt.date.today(), "month", "advanced"] == {b.pk}
    stale = Deal.objects.get(pk=a.pk)
    Deal.objects.filter(pk=a.pk).update(advanced_at=None)  # the application cannot unset it
    stale.title = "Renamed"
    stale.save()
    update_deal(deal=stale, by=admin, changes={"expected_close_date": dt.date(2027, 3, 1)})
    assert _same(admin)[dt.date.today(), "quarter", "slipped"] == {a.pk}
    # Reordering the stages turns advances into steps back and the other way round.
    pipeline = default_pipeline()
    order = list(pipeline.stages.order_by("-order").values_list("pk", flat=True))
    reorder_stages(pipeline=pipeline, by=admin, stage_ids=order)
    _same(admin)
    # Deleting, editing and moving history rows; a deleted stage.
    StageChange.objects.filter(deal=b).order_by("-at").first().delete()
    StageChange.objects.filter(deal=a).update(at=at("2026-10-22"))
    FieldChange.objects.filter(deal=a, new_value="2027-01-05").update(old_value="2027-01-01")
    FieldChange.objects.filter(deal=b, new_value="2026-11-10").update(deal=a)
    _same(admin)
    extra = StageFactory(pipeline=pipeline, name="Extra", order=99)
    StageChange.objects.create(
        deal=a, from_stage=stage_named("Proposal"), to_stage=extra, at=at("2026-10-23")
    )
    _same(admin)
    extra.delete()
    _same(admin)


def test_the_running_counts_of_movement_follow_every_change_of_the_deals(people):
    rep, teammate, admin = people["rep"], people["teammate"], people["admin"]
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.1"), valid_from=SINCE[0])
    scopes = (Scope(user=rep), Scope(user=admin, currency="EUR"))
    a = make_deal(rep, "Proposal", amount="100.00", created="2026-10-03")
    history(a, ("Prospecting", "2026-10-03"), ("Proposal", "2026-10-12"))
    b = make_deal(teammate, "Contact", amount=None, currency="EUR", created="2026-10-11")
    history(b, ("Contact", "2026-10-11"))
    _close_date(b, "2026-10-10", "2027-01-10", "2026-10-16")
    found = _same(admin, *scopes)
    assert found[dt.date(2026, 10, 10), "quarter", "slipped"] == {b.pk}
    close_deal(a, "won", "2026-10-20", stage="Closed")
    close_deal(b, "lost", "2026-10-21")
    _same(admin, *scopes)
    Deal.objects.filter(pk=a.pk).update(owner=teammate, amount=Decimal("250.00"), currency="EUR")
    Deal.objects.filter(pk=b.pk).update(status="open", lost_at=None, amount=Decimal("7.00"))
    Deal.objects.filter(pk=b.pk).update(created_at=at("2026-10-01"))
    found = _same(admin, *scopes)
    assert found[dt.date(2026, 10, 1), "month", "new"] == {a.pk, b.pk}
    rows = MoveDay.objects.count()
    compact_running_counts()  # one row per key: the same figures
    assert MoveDay.objects.count() < rows
    _same(admin, *scopes)
    a.delete()
    _same(admin, *scopes)
