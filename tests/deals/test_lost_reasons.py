"""Lost reasons as a list admins keep (SPEC §9): the list, the rule for picking one, the old
free text turned into entries, the dialogs that offer them."""

import importlib

import pytest
from django.urls import reverse

from deals import services
from deals.models import Deal, LostReason
from deals.services import bulk
from pipeline_crm.errors import DomainError, NotAllowed
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory, lost_reason_entry, stage_named

pytestmark = pytest.mark.django_db

API = "/api/lost-reasons/"
migration = importlib.import_module("deals.migrations.0014_lost_reasons")


@pytest.fixture
def other():
    return lost_reason_entry("Something else", allows_other=True)


# --- the list through the API -------------------------------------------------------------------


def test_everyone_reads_the_list_in_order_and_only_admins_write_it(rep, admin_user, api_for):
    LostReason.objects.all().delete()
    second = LostReason.objects.create(name="Price", order=2)
    first = LostReason.objects.create(name="No budget", order=1, active=False)

    read = api_for(rep).get(API)
    refused = api_for(rep).post(API, {"name": "Timing"})
    added = api_for(admin_user).post(API, {"name": "  Timing "})

    assert read.status_code == 200
    rows = read.json()["results"] if "results" in read.json() else read.json()
    assert [(r["id"], r["name"], r["active"]) for r in rows] == [
        (first.pk, "No budget", False),
        (second.pk, "Price", True),
    ]
    assert refused.status_code == 403
    assert added.status_code == 201
    assert (added.json()["name"], added.json()["order"]) == ("Timing", 3)


def test_a_name_already_on_the_list_whatever_its_case_is_refused(admin_user, api_for):
    lost_reason_entry("Price")
    refused = api_for(admin_user).post(API, {"name": "PRICE "})
    assert refused.status_code == 400
    assert "name" in refused.json()


def test_an_admin_renames_and_deactivates_an_entry_and_there_is_no_delete(admin_user, api_for):
    entry = lost_reason_entry("Pricey")
    client = api_for(admin_user)

    changed = client.patch(f"{API}{entry.pk}/", {"name": "Price too high", "active": False})
    deleted = client.delete(f"{API}{entry.pk}/")

    assert changed.status_code == 200
    entry.refresh_from_db()
    assert (entry.name, entry.active) == ("Price too high", False)
    assert deleted.status_code == 405
    assert LostReason.objects.filter(pk=entry.pk).exists()


def test_the_list_downloads_as_csv(rep, api_for):
    lost_reason_entry("Price")
    response = api_for(rep).get(API, {"format": "csv"})
    assert response.status_code == 200
    assert "Price" in b"".join(response.streaming_content).decode()


def test_only_admins_keep_the_list_through_the_services(rep):
    with pytest.raises(NotAllowed):
        services.create_lost_reason(by=rep, name="Timing")


# --- the rule for picking a reason --------------------------------------------------------------


def test_mark_lost_with_a_reason_id_points_the_deal_at_it(rep, team_a):
    price = lost_reason_entry("Price")
    lost = services.mark_lost(deal=DealFactory(owner=rep), by=rep, reason=price.pk)
    assert (lost.lost_reason, lost.lost_reason_detail) == (price, "")


def test_other_takes_free_text_and_needs_it(rep, team_a, other):
    deal = DealFactory(owner=rep)
    with pytest.raises(DomainError) as missing:
        services.mark_lost(deal=deal, by=rep, reason=other.pk, detail="  ")

    lost = services.mark_lost(deal=deal, by=rep, reason=other.pk, detail=" Merged with a client ")

    assert missing.value.field == "lost_reason_detail"
    assert (lost.lost_reason, lost.lost_reason_detail) == (other, "Merged with a client")
    assert lost.lost_reason_text == "Something else: Merged with a client"


def test_free_text_with_an_entry_that_does_not_allow_other_is_refused(rep, team_a):
    deal = DealFactory(owner=rep)
    with pytest.raises(DomainError) as refused:
        services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Price").pk, detail="x")
    assert refused.value.field == "lost_reason_detail"
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


@pytest.mark.parametrize("reason", ["inactive", "unknown", None])
def test_an_inactive_unknown_or_missing_reason_is_refused(rep, team_a, reason):
    gone = LostReason.objects.create(name="Old reason", active=False)
    deal = DealFactory(owner=rep)
    pk = {"inactive": gone.pk, "unknown": 987654, None: None}[reason]

    with pytest.raises(DomainError) as refused:
        services.mark_lost(deal=deal, by=rep, reason=pk)

    assert refused.value.field == "lost_reason"
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


def test_bulk_mark_lost_follows_the_same_rule(rep, team_a):
    gone = LostReason.objects.create(name="Old reason", active=False)
    deals = [DealFactory(owner=rep) for _ in range(2)]
    with pytest.raises(DomainError):
        bulk.bulk_mark_lost(deals=Deal.objects.filter(owner=rep), by=rep, reason=gone.pk)
    assert {d.status for d in Deal.objects.filter(pk__in=[d.pk for d in deals])} == {"open"}


# --- the API's lost/ ------------------------------------------------------------------------------


def test_the_api_loses_a_deal_for_an_entry_id_or_its_name(rep, api_for, other):
    price = lost_reason_entry("Price")
    by_id, by_name, by_other = (DealFactory(owner=rep) for _ in range(3))
    client = api_for(rep)

    one = client.post(f"/api/deals/{by_id.pk}/lost/", {"lost_reason": price.pk})
    two = client.post(f"/api/deals/{by_name.pk}/lost/", {"reason": "  price"})
    three = client.post(
        f"/api/deals/{by_other.pk}/lost/",
        {"lost_reason": other.pk, "lost_reason_detail": "Project cancelled"},
    )

    assert [r.status_code for r in (one, two, three)] == [200, 200, 200]
    assert one.json()["lost_reason"] == two.json()["lost_reason"] == price.pk
    assert three.json()["lost_reason_detail"] == "Project cancelled"


def test_the_api_refuses_a_free_text_reason_that_names_no_entry(rep, api_for):
    deal = DealFactory(owner=rep)
    refused = api_for(rep).post(f"/api/deals/{deal.pk}/lost/", {"reason": "The moon was full"})
    assert refused.status_code == 400
    assert "reason" in refused.json()
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


def test_the_api_refuses_an_inactive_entry_and_other_without_text(rep, api_for, other):
    gone = LostReason.objects.create(name="Old reason", active=False)
    deal = DealFactory(owner=rep)
    client = api_for(rep)

    inactive = client.post(f"/api/deals/{deal.pk}/lost/", {"lost_reason": gone.pk})
    no_text = client.post(f"/api/deals/{deal.pk}/lost/", {"lost_reason": other.pk})

    assert (inactive.status_code, no_text.status_code) == (400, 400)
    assert "lost_reason" in inactive.json()
    assert "lost_reason_detail" in no_text.json()


# --- the dialogs ----------------------------------------------------------------------------------


def test_the_board_lost_dialog_offers_the_active_reasons_in_order(rep, team_a):
    LostReason.objects.all().delete()
    LostReason.objects.create(name="Timing", order=2)
    LostReason.objects.create(name="Budget", order=1)
    LostReason.objects.create(name="Retired reason", order=3, active=False)
    deal = DealFactory(owner=rep)

    form = signed_in(rep).get(
        reverse("deal-lost", args=[deal.pk]), {"version": 1}, HTTP_HX_REQUEST="true"
    )

    html = form.content.decode()
    assert form.status_code == 200
    assert html.index("Budget") < html.index("Timing")
    assert "Retired reason" not in html
    assert 'type="radio" name="lost_reason"' in html


def test_the_board_dialog_asks_again_when_other_comes_without_text(rep, team_a, other):
    deal = DealFactory(owner=rep)
    response = htmx_post(
        signed_in(rep),
        reverse("deal-lost", args=[deal.pk]),
        {"version": 1, "lost_reason": other.pk},
    )
    assert response.status_code == 422
    assert "Say what “Something else” was." in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


def test_the_deal_list_offers_the_active_reasons_for_bulk_lost(rep, team_a):
    LostReason.objects.create(name="Retired reason", active=False)
    lost_reason_entry("Price")
    html = signed_in(rep).get(reverse("deal-list")).content.decode()
    assert 'name="lost_reason"' in html
    assert "Price" in html
    assert "Retired reason" not in html


def test_the_deal_page_says_why_it_was_lost(rep, team_a, other):
    deal = DealFactory(owner=rep, stage=stage_named("Proposal"))
    services.mark_lost(deal=deal, by=rep, reason=other.pk, detail="Project cancelled")
    html = signed_in(rep).get(reverse("deal-detail", args=[deal.pk])).content.decode()
    assert "Something else: Project cancelled" in html


# --- the settings page ----------------------------------------------------------------------------


def test_an_admin_adds_renames_deactivates_and_reorders_on_the_settings_page(admin_user):
    LostReason.objects.all().delete()
    client = signed_in(admin_user)
    first = LostReason.objects.create(name="Price", order=1)

    added = htmx_post(client, reverse("lost-reason-create"), {"new-name": "Timing"})
    timing = LostReason.objects.get(name="Timing")
    renamed = htmx_post(
        client,
        reverse("lost-reason-update", args=[first.pk]),
        {f"r-{first.pk}-name": "Price too high", f"r-{first.pk}-allows_other": ""},
    )
    shifted = htmx_post(client, reverse("lost-reason-shift", args=[timing.pk]), {"direction": "up"})
    page = client.get(reverse("lost-reason-settings"))

    assert [r.status_code for r in (added, renamed, shifted, page)] == [200, 200, 200, 200]
    first.refresh_from_db()
    assert (first.name, first.active) == ("Price too high", False)  # the box was left unticked
    assert list(LostReason.objects.order_by("order").values_list("name", flat=True)) == [
        "Timing",
        "Price too high",
    ]
    assert "Price too high" in page.content.decode()


def test_a_duplicate_name_on_the_settings_page_is_said_under_the_field(admin_user):
    lost_reason_entry("Price")
    response = htmx_post(
        signed_in(admin_user), reverse("lost-reason-create"), {"new-name": "price"}
    )
    assert response.status_code == 422
    assert "already on the list" in response.content.decode()


# --- the migration of the free text -------------------------------------------------------------


def test_the_migration_turns_free_text_into_distinct_entries_and_points_the_deals_at_them(rep):
    LostReason.objects.all().delete()
    texts = ["Price", "Price", " price ", "No budget", "No budget", "Chose a rival", ""]
    deals = [
        DealFactory(owner=rep, status=Deal.Status.LOST, lost_reason_detail=text) for text in texts
    ]

    migration.reasons_from_free_text(LostReason, Deal)

    names = list(LostReason.objects.order_by("order").values_list("name", flat=True))
    # Most used first, named by the most used spelling; then the usual reasons not yet there.
    assert names == [
        "Price",
        "No budget",
        "Chose a rival",
        "Went with a competitor",
        "No decision",
        "Bad timing",
        "Other",
    ]
    assert len({n.lower() for n in names}) == len(names)
    assert "Other" in names
    assert LostReason.objects.get(name="Other").allows_other
    rows = {d.pk: Deal.objects.get(pk=d.pk) for d in deals}
    reasons = [
        rows[d.pk].lost_reason.name.lower() if rows[d.pk].lost_reason else None for d in deals
    ]
    assert reasons == ["price", "price", "price", "no budget", "no budget", "chose a rival", None]
    assert {rows[d.pk].lost_reason_detail for d in deals} == {""}


def test_the_migration_keeps_entries_already_on_the_list(rep):
    LostReason.objects.all().delete()
    kept = LostReason.objects.create(name="Price", order=1)
    deal = DealFactory(owner=rep, status=Deal.Status.LOST, lost_reason_detail="price")

    migration.reasons_from_free_text(LostReason, Deal)

    deal.refresh_from_db()
    assert deal.lost_reason == kept
    assert LostReason.objects.filter(name__iexact="price").count() == 1
