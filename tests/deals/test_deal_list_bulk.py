"""Bulk actions of the deals list (issue 10, item 5): reassign, move, mark lost, delete, on the
ticked deals or on every deal matching the filter. Each goes through the single action's
service, all in one transaction: one refused deal and nothing changes."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from deals import live, services
from deals.events import DealChanged, DealDeleted, DealEvent, DealLost, DealMoved
from deals.models import Deal, DeletedDeal, FieldChange, StageChange
from deals.services import bulk
from followups.models import Notification
from pipeline_crm import events
from tests.clients import signed_in
from tests.concurrency import all_at_once, raised
from tests.deals.test_column_totals import counted, stored
from tests.factories import (
    DealFactory,
    PipelineFactory,
    StageFactory,
    default_pipeline,
    lost_for,
    lost_reason_entry,
    stage_named,
)

pytestmark = pytest.mark.django_db

BULK = "/deals/bulk/"


def bulk_post(client, data, query=""):
    """A bulk action as the list's form sends it (htmx, swapping the results)."""
    return client.post(
        f"{BULK}{query}", data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="deal-results"
    )


def ids(deals):
    return [d.pk for d in deals]


def refreshed(deals):
    return list(Deal.objects.filter(pk__in=ids(deals)).order_by("pk"))


def toast_of(response):
    return json.loads(response["HX-Trigger"])["toast"]


@pytest.fixture
def announced():
    """Every deal event announced after commit, as webhooks and open boards receive them."""
    heard = []
    listener = heard.append
    events.listens_to(DealEvent, phase=events.AFTER_COMMIT)(listener)
    yield heard
    events._listeners[events.AFTER_COMMIT][DealEvent].remove(listener)


# --- reassign ------------------------------------------------------------------------------------


def test_a_manager_reassigns_exactly_the_ticked_deals(manager, rep, teammate, team_a):
    ticked = [DealFactory(owner=rep) for _ in range(3)]
    untouched = DealFactory(owner=rep)

    response = bulk_post(
        signed_in(manager), {"action": "reassign", "owner": teammate.pk, "ids": ids(ticked)}
    )

    assert response.status_code == 200, response.content
    assert {d.owner_id for d in refreshed(ticked)} == {teammate.pk}
    untouched.refresh_from_db()
    assert untouched.owner_id == rep.pk
    assert toast_of(response)["message"] == f"3 deals reassigned to {teammate}."
    # The same rule as one edit: a history row each, the new owner notified of each.
    assert FieldChange.objects.filter(field="owner", deal__in=ticked).count() == 3
    assert Notification.objects.filter(user=teammate, kind="assigned").count() == 3
    # The answer is the refreshed list.
    assert response.content.decode().lstrip().startswith('<div id="deal-results"')


def test_one_read_only_deal_in_the_selection_changes_nothing_and_is_named(rep, teammate, team_a):
    mine = [DealFactory(owner=rep, title=f"Mine {i}") for i in range(2)]
    theirs = DealFactory(owner=teammate, title="Teammate's big one")

    response = bulk_post(
        signed_in(rep),
        {
            "action": "lost",
            **lost_for("No budget"),
            "ids": ids([*mine, theirs]),
        },
    )

    assert response.status_code == 403
    message = response.content.decode()
    assert "Nothing was changed" in message
    assert "Teammate's big one" in message
    assert "Mine 0" not in message
    assert {d.status for d in refreshed([*mine, theirs])} == {"open"}
    assert not FieldChange.objects.exists()


def test_a_rep_cannot_give_deals_to_someone_outside_their_reach(rep, teammate, team_a):
    deal = DealFactory(owner=rep)
    response = bulk_post(
        signed_in(rep), {"action": "reassign", "owner": teammate.pk, "ids": [deal.pk]}
    )
    assert response.status_code == 400
    assert "cannot assign deals to this user" in response.content.decode()
    deal.refresh_from_db()
    assert deal.owner_id == rep.pk


def test_an_outsiders_deal_id_slipped_into_the_selection_is_not_found(
    rep, outsider, team_a, team_b
):
    mine = DealFactory(owner=rep)
    theirs = DealFactory(owner=outsider)
    response = bulk_post(
        signed_in(rep),
        {"action": "lost", **lost_for("x"), "ids": [mine.pk, theirs.pk]},
    )
    assert response.status_code == 404
    assert {d.status for d in refreshed([mine, theirs])} == {"open"}


# --- move ----------------------------------------------------------------------------------------


def test_moving_the_ticked_deals_to_a_stage_records_each_move(rep, team_a):
    ticked = [DealFactory(owner=rep) for _ in range(3)]
    other = DealFactory(owner=rep)
    proposal = stage_named("Proposal")

    response = bulk_post(
        signed_in(rep), {"action": "move", "stage": proposal.pk, "ids": ids(ticked)}
    )

    assert response.status_code == 200, response.content
    assert {d.stage_id for d in refreshed(ticked)} == {proposal.pk}
    assert StageChange.objects.filter(to_stage=proposal).count() == 3
    other.refresh_from_db()
    assert other.stage_id != proposal.pk


def test_moving_to_a_won_stage_marks_the_deals_won(rep, team_a):
    ticked = [DealFactory(owner=rep) for _ in range(2)]
    bulk_post(
        signed_in(rep), {"action": "move", "stage": stage_named("Closed").pk, "ids": ids(ticked)}
    )
    assert {d.status for d in refreshed(ticked)} == {"won"}


def test_a_lost_deal_in_the_selection_refuses_the_whole_move(rep, team_a):
    open_deal = DealFactory(owner=rep)
    lost = DealFactory(owner=rep, status="lost", title="Already lost")
    response = bulk_post(
        signed_in(rep),
        {"action": "move", "stage": stage_named("Proposal").pk, "ids": [open_deal.pk, lost.pk]},
    )
    assert response.status_code == 400
    assert "Already lost" in response.content.decode()
    assert "reopen it" in response.content.decode()
    open_deal.refresh_from_db()
    assert open_deal.stage_id != stage_named("Proposal").pk


def test_a_stage_that_requires_a_field_refuses_deals_that_lack_it(rep, team_a):
    proposal = stage_named("Proposal")
    proposal.required_fields = ["next_step"]
    proposal.save()
    ready = DealFactory(owner=rep, next_step="Send the quote")
    unready = DealFactory(owner=rep, title="No next step")
    response = bulk_post(
        signed_in(rep), {"action": "move", "stage": proposal.pk, "ids": [ready.pk, unready.pk]}
    )
    assert response.status_code == 400
    assert "No next step" in response.content.decode()
    assert "next step" in response.content.decode()
    assert {d.stage_id for d in refreshed([ready, unready])} != {proposal.pk}
    assert not StageChange.objects.filter(to_stage=proposal).exists()


def test_deals_of_several_pipelines_cannot_be_moved_together(rep, team_a):
    partners = PipelineFactory(name="Partners")
    intro = StageFactory(pipeline=partners, name="Intro")
    sales = DealFactory(owner=rep)
    partner = DealFactory(owner=rep, pipeline=partners, stage=intro)
    response = bulk_post(
        signed_in(rep),
        {"action": "move", "stage": stage_named("Proposal").pk, "ids": [sales.pk, partner.pk]},
    )
    assert response.status_code == 400
    assert "several pipelines (Partners, Sales)" in response.content.decode()

    response = bulk_post(signed_in(rep), {"action": "move", "stage": intro.pk, "ids": [sales.pk]})
    assert response.status_code == 400
    assert "another pipeline" in response.content.decode()


# --- mark lost -----------------------------------------------------------------------------------


def test_marking_the_ticked_deals_lost_gives_each_the_reason(rep, team_a):
    ticked = [DealFactory(owner=rep) for _ in range(2)]
    other = DealFactory(owner=rep)
    response = bulk_post(
        signed_in(rep),
        {
            "action": "lost",
            **lost_for("Went with a competitor"),
            "ids": ids(ticked),
        },
    )
    assert response.status_code == 200
    assert {(d.status, d.lost_reason_text) for d in refreshed(ticked)} == {
        ("lost", "Went with a competitor")
    }
    other.refresh_from_db()
    assert other.status == "open"


def test_marking_lost_needs_a_reason(rep, team_a):
    deal = DealFactory(owner=rep)
    response = bulk_post(signed_in(rep), {"action": "lost", "lost_reason": "", "ids": [deal.pk]})
    assert response.status_code == 400
    assert "Say why the deals were lost." in response.content.decode()


# --- delete --------------------------------------------------------------------------------------


def test_deleting_the_ticked_deals_puts_them_in_the_trash_with_an_undo(rep, team_a):
    ticked = [DealFactory(owner=rep) for _ in range(2)]
    kept = DealFactory(owner=rep)

    response = bulk_post(signed_in(rep), {"action": "delete", "ids": ids(ticked)})

    assert response.status_code == 200
    assert list(Deal.objects.values_list("pk", flat=True)) == [kept.pk]
    entries = DeletedDeal.objects.order_by("deal_id")
    assert list(entries.values_list("deal_id", flat=True)) == ids(ticked)
    html = response.content.decode()
    assert 'hx-swap-oob="beforeend:#toasts"' in html
    assert "2 deals moved to the trash." in html
    for entry in entries:
        assert f'name="ids" value="{entry.pk}"' in html


# --- all matching the filter ---------------------------------------------------------------------


def test_all_matching_acts_on_every_deal_the_filter_keeps_beyond_the_page(rep, team_a):
    acme = [DealFactory(owner=rep, title=f"Acme {i}") for i in range(60)]
    others = [DealFactory(owner=rep, title=f"Globex {i}") for i in range(3)]

    response = bulk_post(
        signed_in(rep),
        {
            "action": "lost",
            **lost_for("Lost the account"),
            "all_matching": "1",
            "count": "60",
        },
        query="?q=acme&sort=title",
    )

    assert response.status_code == 200, response.content
    assert {d.status for d in refreshed(acme)} == {"lost"}
    assert {d.status for d in refreshed(others)} == {"open"}
    assert toast_of(response)["message"] == "60 deals marked lost."


def test_all_matching_refuses_when_the_filter_now_matches_other_deals(rep, team_a):
    deals = [DealFactory(owner=rep, title=f"Acme {i}") for i in range(3)]
    response = bulk_post(
        signed_in(rep),
        {"action": "delete", "all_matching": "1", "count": "2"},
        query="?q=acme",
    )
    assert response.status_code == 409
    assert "matches 3 deals, not 2" in response.content.decode()
    assert Deal.objects.filter(pk__in=ids(deals)).count() == 3


def test_all_matching_never_reaches_deals_out_of_sight(rep, outsider, team_a, team_b):
    mine = DealFactory(owner=rep, title="Acme mine")
    theirs = DealFactory(owner=outsider, title="Acme theirs")
    bulk_post(signed_in(rep), {"action": "delete", "all_matching": "1"}, query="?q=acme")
    assert not Deal.objects.filter(pk=mine.pk).exists()
    assert Deal.objects.filter(pk=theirs.pk).exists()


def test_too_many_deals_at_once_are_refused(rep, team_a, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 3)
    deals = [DealFactory(owner=rep) for _ in range(4)]
    response = bulk_post(signed_in(rep), {"action": "delete", "all_matching": "1"})
    assert response.status_code == 400
    assert "more than 3 deals" in response.content.decode()
    assert Deal.objects.filter(pk__in=ids(deals)).count() == 4


# --- what the others see -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "event_type"),
    [
        ({"action": "reassign"}, DealChanged),
        ({"action": "move"}, DealMoved),
        ({"action": "lost"}, DealLost),
        ({"action": "delete"}, DealDeleted),
    ],
    ids=["reassign", "move", "lost", "delete"],
)
def test_each_bulk_action_announces_every_deal_to_open_boards_and_webhooks(
    manager, rep, teammate, team_a, announced, django_capture_on_commit_callbacks, data, event_type
):
    deals = [DealFactory(owner=rep) for _ in range(3)]
    proposal = stage_named("Proposal")
    budget = lost_reason_entry("Budget").pk
    data = {**data, "owner": teammate.pk, "stage": proposal.pk, "lost_reason": budget}
    data["ids"] = ids(deals)
    pipeline = default_pipeline()
    before = live.current_version(pipeline.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = bulk_post(signed_in(manager), data)

    assert response.status_code == 200, response.content
    heard = [e for e in announced if isinstance(e, event_type)]
    assert sorted(e.deal.pk for e in heard) == ids(deals)
    version, columns = live.changes_since(pipeline.pk, before)
    assert version == before + 3
    assert deals[0].stage_id in columns


def test_a_refused_bulk_action_announces_nothing(
    rep, teammate, team_a, announced, django_capture_on_commit_callbacks
):
    deals = [DealFactory(owner=rep), DealFactory(owner=teammate)]
    with django_capture_on_commit_callbacks(execute=True):
        response = bulk_post(signed_in(rep), {"action": "delete", "ids": ids(deals)})
    assert response.status_code == 403
    assert announced == []
    assert not DeletedDeal.objects.exists()


# --- forms ---------------------------------------------------------------------------------------


def test_bulk_posts_need_the_csrf_token(rep, team_a):
    deal = DealFactory(owner=rep)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(BULK, {"action": "delete", "ids": [deal.pk]})
    assert response.status_code == 403
    assert Deal.objects.filter(pk=deal.pk).exists()
    response = client.post(reverse("deal-restore"), {"ids": [1]})
    assert response.status_code == 403
    response = client.post(reverse("deal-delete", args=[deal.pk]))
    assert response.status_code == 403
    assert Deal.objects.filter(pk=deal.pk).exists()


def test_a_bulk_action_without_its_argument_or_selection_is_a_clear_400(rep, team_a):
    client = signed_in(rep)
    assert (
        "Choose who gets the deals." in bulk_post(client, {"action": "reassign"}).content.decode()
    )
    response = bulk_post(client, {"action": "delete"})
    assert response.status_code == 400
    assert "Select some deals first." in response.content.decode()
    assert bulk_post(client, {"action": "explode", "ids": [1]}).status_code == 400


def test_a_plain_form_post_redirects_back_to_the_filtered_list(rep, team_a):
    deal = DealFactory(owner=rep)
    response = signed_in(rep).post(
        f"{BULK}?status=all",
        {"action": "lost", **lost_for("Timing"), "ids": [deal.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == "/deals/?status=all"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks")
@pytest.mark.django_db(transaction=True)
def test_overlapping_bulk_actions_queue_instead_of_deadlocking(manager, rep, teammate, team_a):
    """Each bulk action locks its deals in id order before changing any: two actions on the
    same deals, ticked in opposite orders, run one after the other."""
    deals = [DealFactory(owner=rep) for _ in range(8)]
    contact, proposal = stage_named("Contact"), stage_named("Proposal")

    def reassign(i: int) -> None:
        owner = teammate if i % 2 == 0 else rep
        chosen = Deal.objects.filter(pk__in=ids(reversed(deals)))
        bulk.bulk_reassign(deals=chosen, by=manager, owner=owner)

    def move(i: int) -> None:
        stage = contact if i % 2 == 0 else proposal
        bulk.bulk_move(deals=Deal.objects.filter(pk__in=ids(deals)), by=manager, stage=stage)

    def four_times(action) -> None:
        for i in range(4):
            action(i)

    outcomes = all_at_once([lambda: four_times(reassign), lambda: four_times(move)])

    assert raised(outcomes) == []
    assert {d.stage_id for d in refreshed(deals)} == {proposal.pk}
    assert {d.owner_id for d in refreshed(deals)} == {rep.pk}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks")
@pytest.mark.django_db(transaction=True)
def test_a_bulk_action_and_single_moves_beside_it_never_deadlock(manager, rep, teammate, team_a):
    """PostgreSQL's triggers write the column totals deal by deal: here the first selected
    deal's (Negotiation) before the second's (Prospecting), against key order, while a move
    of another of the rep's deals between those stages takes the same two rows in key order.
    The bulk action locks them in key order first, so the two queue instead of deadlocking."""
    low, high = stage_named("Prospecting"), stage_named("Negotiation")
    selected = [DealFactory(owner=rep, stage=high), DealFactory(owner=rep, stage=low)]
    other = DealFactory(owner=rep, stage=low)
    done = threading.Event()

    def reassign() -> None:
        try:
            for i in range(30):
                chosen = Deal.objects.filter(pk__in=ids(selected))
                owner = teammate if i % 2 == 0 else rep
                bulk.bulk_reassign(deals=chosen, by=manager, owner=owner)
        finally:
            done.set()  # the moves beside it stop too

    def shuttle() -> None:
        while not done.is_set():
            current = Deal.objects.get(pk=other.pk)
            target = high if current.stage_id == low.pk else low
            services.move_deal(deal=current, by=manager, stage=target, version=current.version)

    outcomes = all_at_once([reassign, shuttle])

    assert raised(outcomes) == []
    assert stored() == counted()
