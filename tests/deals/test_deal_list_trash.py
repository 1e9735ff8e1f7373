"""Deleting deals with recovery (issue 10, item 5): a deleted deal goes to the trash with its
history and activities; Undo or the trash page bring it back as it was, in its column. The
deal page and the API delete through the same service."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from deals import live, services
from deals.events import DealRestored
from deals.models import ColumnTotal, Deal, DeletedDeal, FieldChange, StageChange
from deals.selectors import BoardFilters, stored_column_totals
from deals.services import trash
from deals.tasks import purge_deal_trash
from followups.models import Activity, Notification
from pipeline_crm import events
from tests.clients import signed_in
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    DealFactory,
    default_pipeline,
    stage_named,
)

pytestmark = pytest.mark.django_db

TRASH = "/deals/trash/"
RESTORE = "/deals/trash/restore/"


@pytest.fixture
def worked_deal(rep, manager, team_a):
    """A deal with a past: moves, a field change, a done and a planned activity."""
    company = CompanyFactory(name="Initech", owner=rep)
    deal = DealFactory(owner=rep, title="Initech expansion", company=company, amount=5000)
    deal = services.move_deal(deal=deal, by=rep, stage=stage_named("Contact"), version=1)
    deal = services.update_deal(deal=deal, by=rep, changes={"amount": 7500})
    ActivityFactory(owner=rep, deal=deal, subject="Discovery call", done_at=timezone.now())
    ActivityFactory(owner=rep, deal=deal, subject="Send quote", due_at=timezone.now())
    return Deal.objects.get(pk=deal.pk)


def history_of(deal_id):
    return (
        list(StageChange.objects.filter(deal_id=deal_id).values_list("pk", "to_stage_name")),
        list(FieldChange.objects.filter(deal_id=deal_id).values_list("pk", "field", "new_value")),
        list(Activity.objects.filter(deal_id=deal_id).values_list("pk", "subject", "done_at")),
    )


def test_a_restored_deal_comes_back_with_its_id_history_activities_and_column(
    rep, worked_deal, django_capture_on_commit_callbacks
):
    before = history_of(worked_deal.pk)
    fields = Deal.objects.filter(pk=worked_deal.pk).values().get()
    entry = services.delete_deal(deal=worked_deal, by=rep)

    assert not Deal.objects.filter(pk=worked_deal.pk).exists()
    assert history_of(worked_deal.pk) == ([], [], [])
    assert (entry.deal_id, entry.title, entry.stage_name) == (
        worked_deal.pk,
        "Initech expansion",
        "Contact",
    )

    pipeline = default_pipeline()
    version = live.current_version(pipeline.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(rep).post(RESTORE, {"ids": [entry.pk]})
    assert response.status_code == 302

    assert Deal.objects.filter(pk=worked_deal.pk).values().get() == fields
    assert history_of(worked_deal.pk) == before
    assert not DeletedDeal.objects.exists()
    # Open boards reload its column, and the card is there (on the board's first page).
    _, columns = live.changes_since(pipeline.pk, version)
    assert columns == [stage_named("Contact").pk]
    board = signed_in(rep).get(reverse("board"))
    assert f'data-deal-id="{worked_deal.pk}"' in board.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="totals kept by triggers")
def test_the_board_headers_count_a_deleted_deal_out_and_a_restored_one_back_in(rep, worked_deal):
    stages = list(default_pipeline().stages.order_by("order"))

    def contact_total():
        return stored_column_totals(rep, BoardFilters(), stages)[stage_named("Contact").pk]

    before = contact_total()
    entry = services.delete_deal(deal=worked_deal, by=rep)
    assert contact_total().count == before.count - 1
    trash.restore_deals(entries=[entry], by=rep)
    assert contact_total() == before
    assert ColumnTotal.objects.filter(deals__lt=0).count() == 0


def test_undo_in_the_toast_restores_every_deal_of_the_delete(rep, team_a):
    deals = [DealFactory(owner=rep) for _ in range(3)]
    client = signed_in(rep)
    client.post(
        "/deals/bulk/",
        {"action": "delete", "ids": [d.pk for d in deals]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="deal-results",
    )
    entry_ids = list(DeletedDeal.objects.values_list("pk", flat=True))

    response = client.post(
        f"{RESTORE}?status=all",
        {"ids": entry_ids},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="deal-results",
    )

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"])["toast"]["message"] == "3 deals restored."
    assert Deal.objects.count() == 3
    html = response.content.decode()
    assert all(f'data-deal-id="{d.pk}"' in html for d in deals)


def test_a_restore_is_announced_as_the_deal_back_without_notifying_anyone(
    manager, rep, team_a, django_capture_on_commit_callbacks
):
    heard = []
    events.listens_to(DealRestored, phase=events.AFTER_COMMIT)(heard.append)
    try:
        deal = DealFactory(owner=rep)
        entry = services.delete_deal(deal=deal, by=manager)
        with django_capture_on_commit_callbacks(execute=True):
            trash.restore_deals(entries=[entry], by=manager)
    finally:
        events._listeners[events.AFTER_COMMIT][DealRestored].remove(heard.append)
    assert [e.deal.pk for e in heard] == [deal.pk]
    assert not Notification.objects.filter(user=rep, kind="assigned").exists()


def test_a_deal_whose_stage_and_company_were_deleted_since_comes_back_in_the_first_stage(
    admin_user, rep, team_a
):
    company = CompanyFactory(owner=rep)
    deal = DealFactory(owner=rep, stage=stage_named("Proposal"), company=company)
    entry = services.delete_deal(deal=deal, by=rep)
    services.delete_stage(stage=stage_named("Proposal"), by=admin_user)
    company.delete()

    (restored,) = trash.restore_deals(entries=[entry], by=rep)

    restored = Deal.objects.get(pk=deal.pk)
    assert restored.stage == stage_named("Prospecting")
    assert restored.company is None


# --- who sees the trash --------------------------------------------------------------------------


def test_the_trash_lists_what_the_user_could_have_deleted(
    rep, teammate, manager, outsider, admin_user, team_a, team_b
):
    entries = {
        user.username: services.delete_deal(
            deal=DealFactory(owner=user, title=f"{user.username}'s"), by=user
        )
        for user in (rep, teammate, outsider)
    }

    def trash_titles(user):
        response = signed_in(user).get(TRASH)
        assert response.status_code == 200
        return {e.title for e in response.context["page"].object_list}

    assert trash_titles(rep) == {"rep's"}
    assert trash_titles(manager) == {"rep's", "teammate's"}
    assert trash_titles(admin_user) == {"rep's", "teammate's", "outsider's"}
    html = signed_in(rep).get(TRASH).content.decode()
    assert f'name="ids" value="{entries["rep"].pk}"' in html
    # Someone else's entry cannot be restored by id: out of sight.
    response = signed_in(rep).post(RESTORE, {"ids": [entries["teammate"].pk]})
    assert response.status_code == 404
    assert not Deal.objects.filter(title="teammate's").exists()


def test_restoring_from_the_trash_page_refreshes_its_table(rep, team_a):
    entry = services.delete_deal(deal=DealFactory(owner=rep, title="Comeback"), by=rep)
    response = signed_in(rep).post(
        RESTORE, {"ids": [entry.pk]}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="trash-results"
    )
    assert response.status_code == 200
    assert "The trash is empty." in response.content.decode()
    assert Deal.objects.filter(title="Comeback").exists()


# --- the deal page and the API -------------------------------------------------------------------


def test_the_deal_page_offers_delete_to_those_who_may_delete(rep, teammate, team_a):
    deal = DealFactory(owner=rep)
    url = reverse("deal-detail", args=[deal.pk])
    mine = signed_in(rep).get(url).content.decode()
    assert f'hx-post="/deals/{deal.pk}/delete/"' in mine
    assert "hx-confirm=" in mine
    assert "/delete/" not in signed_in(teammate).get(url).content.decode()


def test_deleting_from_the_deal_page_lands_on_the_list_with_an_undo(rep, team_a):
    deal = DealFactory(owner=rep, title="Page deleted")
    client = signed_in(rep)

    response = client.post(f"/deals/{deal.pk}/delete/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/deals/"
    assert not Deal.objects.filter(pk=deal.pk).exists()
    entry = DeletedDeal.objects.get(deal_id=deal.pk)
    listing = client.get("/deals/").content.decode()
    assert "“Page deleted” moved to the trash." in listing
    assert f'name="ids" value="{entry.pk}"' in listing
    # Once: the next visit does not offer it again.
    assert "moved to the trash" not in client.get("/deals/").content.decode()


def test_a_teammate_cannot_delete_from_the_deal_page(rep, teammate, team_a):
    deal = DealFactory(owner=rep)
    response = signed_in(teammate).post(f"/deals/{deal.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert Deal.objects.filter(pk=deal.pk).exists()


def test_deleting_through_the_api_goes_to_the_trash(rep, outsider, team_a, team_b, api_for):
    deal = DealFactory(owner=rep)
    assert api_for(outsider).delete(f"/api/deals/{deal.pk}/").status_code == 404
    assert api_for(rep).delete(f"/api/deals/{deal.pk}/").status_code == 204
    assert DeletedDeal.objects.get().deal_id == deal.pk
    assert signed_in(rep).get(TRASH).context["page"].object_list[0].deal_id == deal.pk


def test_the_nightly_purge_drops_only_what_is_older_than_the_trash_keeps(rep, team_a, settings):
    settings.DEAL_TRASH_DAYS = 30
    old = services.delete_deal(deal=DealFactory(owner=rep), by=rep)
    recent = services.delete_deal(deal=DealFactory(owner=rep), by=rep)
    DeletedDeal.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - dt.timedelta(days=31))

    assert purge_deal_trash() == 1
    assert purge_deal_trash() == 0
    assert list(DeletedDeal.objects.values_list("pk", flat=True)) == [recent.pk]
    assert "stay here for 30 days" in signed_in(rep).get(TRASH).content.decode()


def test_the_trash_answers_csv_with_what_the_user_may_see(rep, teammate, team_a):
    services.delete_deal(deal=DealFactory(owner=rep, title="=SUM(A1:A9)"), by=rep)
    services.delete_deal(deal=DealFactory(owner=teammate, title="Not mine"), by=teammate)
    response = signed_in(rep).get(TRASH, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("deal_id,title,pipeline,stage")
    assert len(lines) == 2
    assert ",'=SUM(A1:A9),Sales,Prospecting," in lines[1]
