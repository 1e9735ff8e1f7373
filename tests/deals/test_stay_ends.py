"""StageChange.left_at and .advanced, kept by PostgreSQL triggers, stay equal to what the
history says whoever writes it: moves, lose, reopen, trash and restore, bulk moves, stage
order changes, imports' and the demo loader's bulk inserts, edits of old rows."""

import datetime as dt

import pytest
from django.utils import timezone

from deals import services
from deals.models import Deal, StageChange
from deals.services import bulk, trash
from pipeline_crm.db import bulk_insert, is_postgresql
from tests.factories import DealFactory, lost_reason_entry, stage_named

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not is_postgresql(), reason="kept by PostgreSQL triggers only"),
]


def recomputed(deal: Deal) -> list[tuple[str, dt.datetime | None, bool, dt.datetime | None]]:
    """The rule, walked in Python over the deal's history: a stay ends with the next move, else
    when the deal was lost; advanced when a later move entered a later stage of that pipeline;
    entered_before: the deal's previous move into that stage."""
    deal.refresh_from_db()
    changes = list(StageChange.objects.filter(deal=deal).select_related("to_stage"))
    expected = []
    for index, change in enumerate(changes):
        later = changes[index + 1 :]
        stage = change.to_stage
        advanced = stage is not None and any(
            c.to_stage is not None
            and c.to_stage.pipeline_id == stage.pipeline_id
            and c.to_stage.order > stage.order
            for c in later
        )
        left_at = later[0].at if later else deal.lost_at
        before = [c.at for c in changes[:index] if c.to_stage_id == change.to_stage_id]
        expected.append((change.to_stage_name, left_at, advanced, before[-1] if before else None))
    return expected


def stored(deal: Deal) -> list[tuple[str, dt.datetime | None, bool, dt.datetime | None]]:
    return list(
        StageChange.objects.filter(deal=deal).values_list(
            "to_stage_name", "left_at", "advanced", "entered_before"
        )
    )


def fresh(deal: Deal) -> Deal:
    deal.refresh_from_db()
    return deal


def move(deal: Deal, by, stage: str) -> Deal:
    return services.move_deal(deal=deal, by=by, stage=stage_named(stage), version=deal.version)


def test_moves_back_and_forth_lose_and_reopen_keep_each_stay_right(rep):
    deal = services.create_deal(by=rep, title="Acme")
    assert stored(deal) == [("Prospecting", None, False, None)]
    deal = move(deal, rep, "Proposal")
    deal = move(deal, rep, "Contact")  # back: Proposal's stay ends, Contact not further yet
    deal = move(deal, rep, "Proposal")
    deal = move(deal, rep, "Contact")  # Contact the second time: entered_before is the first
    names_left_advanced = stored(deal)
    assert [(n, a) for n, _, a, _ in names_left_advanced] == [
        ("Prospecting", True),
        ("Proposal", False),
        ("Contact", True),
        ("Proposal", False),
        ("Contact", False),
    ]
    first_contact = StageChange.objects.filter(deal=deal)[2]
    assert names_left_advanced[4][3] == first_contact.at  # entered Contact before, then
    assert names_left_advanced[2][3] is None
    assert stored(deal) == recomputed(deal)
    deal = services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Price").pk)
    lost_at = fresh(deal).lost_at
    assert lost_at is not None
    assert stored(deal)[-1][1] == lost_at
    assert stored(deal) == recomputed(deal)
    deal = services.reopen_deal(deal=deal, by=rep)
    assert stored(deal)[-1][1] is None
    deal = move(fresh(deal), rep, "Negotiation")  # Contact and Proposal advanced now
    assert [a for _, _, a, _ in stored(deal)] == [True, True, True, True, True, False]
    assert stored(deal) == recomputed(deal)


def test_delete_to_trash_and_restore_bring_the_stays_back(rep):
    deal = services.create_deal(by=rep, title="Acme")
    deal = move(deal, rep, "Qualification")
    deal = services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Price").pk)
    before = stored(deal)
    entry = services.delete_deal(deal=deal, by=rep)
    assert not StageChange.objects.filter(deal_id=deal.pk).exists()
    (restored,) = trash.restore_deals(entries=[entry], by=rep)
    assert stored(restored) == before == recomputed(restored)


def test_bulk_moves_and_stage_order_changes_recompute_advanced(rep, admin_user):
    deals = [services.create_deal(by=rep, title=f"Deal {i}") for i in range(3)]
    bulk.bulk_move(
        deals=Deal.objects.filter(pk__in=[d.pk for d in deals]),
        by=rep,
        stage=stage_named("Contact"),
    )
    for deal in deals:
        assert stored(deal) == recomputed(deal)
        assert [a for _, _, a, _ in stored(deal)] == [True, False]
    contact = stage_named("Contact")
    services.update_stage(stage=contact, by=admin_user, changes={"order": 1})  # before Prospecting
    for deal in deals:
        assert [a for _, _, a, _ in stored(deal)] == [False, False]
        assert stored(deal) == recomputed(deal)
    services.shift_stage(stage=stage_named("Contact"), by=admin_user, up=False)
    assert [a for _, _, a, _ in stored(deals[0])] == [True, False]


def test_deleting_a_stage_its_deals_moved_elsewhere_keeps_the_history_right(rep, admin_user):
    deal = services.create_deal(by=rep, title="Acme")
    deal = move(deal, rep, "Contact")
    deal = move(deal, rep, "Qualification")
    services.delete_stage(
        stage=stage_named("Contact"), by=admin_user, destination=stage_named("Proposal")
    )
    assert stored(deal) == recomputed(deal)
    assert [a for _, _, a, _ in stored(deal)] == [True, False, False]  # Contact's row: no stage


def test_bulk_inserted_and_edited_history_is_recomputed(rep):
    """What imports and the demo loader do (COPY of many rows), and a row's time changed."""
    start = timezone.now() - dt.timedelta(days=30)
    lost = DealFactory(owner=rep, status=Deal.Status.LOST, lost_at=start + dt.timedelta(days=9))
    won = DealFactory(owner=rep, stage=stage_named("Closed"), status=Deal.Status.WON)
    rows = []
    for deal, names in ((lost, ["Prospecting", "Proposal"]), (won, ["Contact", "Closed"])):
        for day, name in enumerate(names):
            stage = stage_named(name)
            rows.append(
                {
                    "deal_id": deal.pk,
                    "to_stage_id": stage.pk,
                    "to_stage_name": stage.name,
                    "at": start + dt.timedelta(days=day),
                }
            )
    bulk_insert(StageChange, rows)
    assert stored(lost) == recomputed(lost)
    assert stored(lost)[-1][1] == lost.lost_at
    assert [a for _, _, a, _ in stored(won)] == [True, False]
    StageChange.objects.filter(deal=won, to_stage_name="Closed").update(at=start - dt.timedelta(1))
    assert [(n, a) for n, _, a, _ in stored(won)] == [("Closed", False), ("Contact", False)]
    assert stored(won) == recomputed(won)
