"""The running counts of the pipeline rebuilt from history (`forecasting.models.PipelineDay`,
kept by PostgreSQL triggers) give, on every day, the pipeline that replaying the history gives,
whatever changes the history or the deals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from currencies.models import ExchangeRate
from deals.models import Deal, DeletedDeal, FieldChange, StageChange
from deals.services.trash import archive_and_delete, restore_deals
from forecasting.analytics.as_of import _as_of_from_running_counts, _as_of_replayed
from forecasting.analytics.scope import Scope, running_counts_kept
from forecasting.checks import running_counts_zone
from forecasting.models import PipelineDay
from forecasting.services import compact_running_counts
from tests.factories import StageFactory, default_pipeline, stage_named
from tests.forecasting.conftest import at, close_deal, history, make_deal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the running counts are PostgreSQL's"
    ),
]

FIRST = dt.date(2026, 9, 30)
DAYS = [FIRST + dt.timedelta(days=n) for n in range(28)]  # every move is in these


def _figures(rows):
    return sorted(
        (
            row["stage"],
            row["deals"],
            *(Decimal(row[k] or 0) for k in ("total_amount", "weighted_x100")),
        )
        for row in rows
    )


def _same(*scopes: Scope) -> list:
    """Every scope on every day: the running counts equal the replay; the replay's figures."""
    figures = []
    for scope in scopes:
        for day in DAYS:
            replayed = _figures(_as_of_replayed(scope, day))
            assert _figures(_as_of_from_running_counts(scope, day)) == replayed, (scope, day)
            figures.append(replayed)
    return figures


def test_the_running_counts_are_what_the_databases_rebuild_reads():
    assert running_counts_kept()


def test_the_running_counts_follow_every_change_of_the_history(people):
    rep, teammate, admin = people["rep"], people["teammate"], people["admin"]
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.1"), valid_from=FIRST)
    scopes = (Scope(user=admin), Scope(user=rep), Scope(user=admin, currency="EUR"))
    a = make_deal(rep, "Proposal", amount="1000.00", created="2026-09-30")
    history(a, ("Prospecting", "2026-10-01"), ("Contact", "2026-10-05"), ("Proposal", "2026-10-09"))
    b = make_deal(teammate, "Contact", amount="500.00", currency="EUR", probability_override=70)
    history(b, ("Prospecting", "2026-10-02"), ("Contact", "2026-10-03"))
    c = make_deal(rep, "Contact", amount=None, created="2026-09-29")
    history(c, ("Contact", "2026-10-04"))
    assert any(_same(*scopes))
    close_deal(a, "won", "2026-10-20", stage="Closed")  # won: gone from the next day on
    close_deal(b, "lost", "2026-10-12")  # lost in its stage
    _same(*scopes)
    # Reopened: its last status change is no longer "lost", lost_at cleared.
    FieldChange.objects.create(
        deal=b, field="status", old_value="lost", new_value="open", at=at("2026-10-25")
    )
    Deal.objects.filter(pk=b.pk).update(status="open", lost_at=None)
    _same(*scopes)
    # Re-entering a stage, two moves on one day, a move at midnight.
    history(c, ("Proposal", "2026-10-14"), ("Contact", "2026-10-14"), ("Proposal", "2026-10-15"))
    _same(*scopes)
    Deal.objects.filter(pk=c.pk).update(amount=Decimal("250.00"), owner=teammate)
    Deal.objects.filter(pk=b.pk).update(currency="USD", probability_override=None)
    Deal.objects.filter(pk=a.pk).update(created_at=at("2026-10-07"))
    _same(*scopes)
    StageChange.objects.filter(deal=c, to_stage=stage_named("Proposal")).first().delete()
    StageChange.objects.filter(deal=a).update(at=at("2026-10-03"))
    FieldChange.objects.filter(deal=b, new_value="open").update(new_value="lost")
    _same(*scopes)
    # A deleted stage leaves its moves without a stage: the deal is out of it.
    extra = StageFactory(pipeline=default_pipeline(), name="Extra", order=99)
    StageChange.objects.create(deal=c, to_stage=extra, at=at("2026-10-18"))
    _same(*scopes)
    extra.delete()
    _same(*scopes)
    # The trash: deleting a deal takes it out, restoring puts it back.
    entry = archive_and_delete(c, by=admin)
    _same(*scopes)
    restore_deals(entries=[DeletedDeal.objects.get(pk=entry.pk)], by=admin)
    before = _same(*scopes)
    assert any(before)
    # Compacting the rows (one per key) changes no figure.
    rows = PipelineDay.objects.count()
    compact_running_counts()
    assert PipelineDay.objects.count() < rows
    assert _same(*scopes) == before


def test_a_deal_counts_from_the_day_after_its_move_until_the_day_after_it_closes(people):
    rep = people["rep"]
    deal = make_deal(rep, "Contact", amount="300.00", created="2026-10-01")
    history(deal, ("Contact", "2026-10-01"))
    close_deal(deal, "lost", "2026-10-06")
    counted = {
        day: sum(row["deals"] for row in _as_of_from_running_counts(Scope(user=rep), day))
        for day in DAYS
    }
    assert [day for day, n in counted.items() if n] == [dt.date(2026, 10, d) for d in range(2, 7)]
    Deal.objects.all().delete()
    compact_running_counts()  # what is left sums to nothing: no row
    assert not PipelineDay.objects.exists()


def test_running_counts_of_another_time_zone_are_reported(settings):
    assert running_counts_zone(databases=["default"]) == []
    settings.TIME_ZONE = "Europe/Berlin"
    assert [e.id for e in running_counts_zone(databases=["default"])] == ["forecasting.E001"]
