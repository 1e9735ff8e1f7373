"""Merging duplicates (SPEC §9 Merge): everything linked moves to the record kept, its empty
fields are filled, the other is gone, and the merge is on the timeline and in the audit log."""

from decimal import Decimal

import pytest
from django.db import connection

from audit.models import AuditEntry
from contacts.models import Company, Contact, Lead
from deals.models import Deal
from followups.models import Activity, Notification
from imports.models import Import, ImportedRecord
from people.merge import RecordGone, merge_companies, merge_contacts, merge_leads
from pipeline_crm.errors import DomainError, NotAllowed
from tests.concurrency import all_at_once
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    NotificationFactory,
)

pytestmark = pytest.mark.django_db


def _counts(**link):
    return {
        "deals": Deal.objects.filter(**link).count(),
        "activities": Activity.objects.filter(**link).count(),
    }


def test_merging_contacts_moves_every_deal_and_activity_and_deletes_the_other(rep):
    keep = ContactFactory(owner=rep, first_name="Ann", last_name="Lee", phone="", title="")
    other = ContactFactory(
        owner=rep, first_name="Ann", last_name="Lee", phone="+1 555", title="CTO"
    )
    DealFactory.create_batch(2, owner=rep, contact=keep)
    deals = DealFactory.create_batch(3, owner=rep, contact=other)
    ActivityFactory.create_batch(4, owner=rep, contact=other)
    ActivityFactory(owner=rep, contact=keep)
    NotificationFactory(user=rep, deal=deals[0])
    before_keep, before_other = _counts(contact=keep), _counts(contact=other)

    result = merge_contacts(survivor=keep, other=other, by=rep)

    after = _counts(contact=keep)
    assert after["deals"] == before_keep["deals"] + before_other["deals"] == 5
    # four moved, one was there, and the merge itself is noted on the timeline
    assert after["activities"] == before_keep["activities"] + before_other["activities"] + 1
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert Notification.objects.get(deal=deals[0]).deal.contact_id == keep.pk
    assert result.moved["deals"] == 3
    assert result.moved["activities"] == 4


def test_the_kept_record_takes_the_others_values_only_where_it_had_none(rep):
    keep = ContactFactory(owner=rep, email="", phone="", title="Boss", company=None)
    other = ContactFactory(owner=rep, email="ann@acme.example", phone="+1 555", title="CTO")

    result = merge_contacts(survivor=keep, other=other, by=rep)

    keep.refresh_from_db()
    assert keep.email == "ann@acme.example"  # its unique e-mail moved over with it
    assert keep.phone == "+1 555"
    assert keep.title == "Boss"  # kept: it had one
    assert keep.company_id == other.company_id
    assert set(result.filled) == {"email", "phone", "company"}


def test_the_merge_is_written_on_the_kept_records_timeline_and_in_the_audit_log(rep):
    keep = ContactFactory(owner=rep, first_name="Ann", last_name="Lee")
    other = ContactFactory(owner=rep, first_name="Ann", last_name="L.")
    DealFactory(owner=rep, contact=other)

    merge_contacts(survivor=keep, other=other, by=rep)

    note = Activity.objects.get(contact=keep, kind=Activity.Kind.NOTE)
    assert note.subject.startswith("Merged contact “Ann L.”")
    assert "1 deals" in note.subject
    assert note.done_at is not None
    assert note.owner == rep
    entry = AuditEntry.objects.get(action="records_merged")
    assert entry.details == {"merged": {str(other.pk): "Ann L."}}


def test_merging_companies_moves_their_contacts_deals_and_activities(rep):
    keep = CompanyFactory(owner=rep, domain="", industry="")
    other = CompanyFactory(owner=rep, domain="acme.example", industry="Retail")
    ContactFactory.create_batch(3, owner=rep, company=other)
    DealFactory.create_batch(2, owner=rep, company=other)
    ActivityFactory(owner=rep, company=other)
    before = {
        "contacts": Contact.objects.filter(company=other).count(),
        **_counts(company=other),
    }

    merge_companies(survivor=keep, other=other, by=rep)

    assert Contact.objects.filter(company=keep).count() == before["contacts"] == 3
    assert Deal.objects.filter(company=keep).count() == before["deals"] == 2
    assert Activity.objects.filter(company=keep, kind="call").count() == before["activities"]
    keep.refresh_from_db()
    assert (keep.domain, keep.industry) == ("acme.example", "Retail")
    assert not Company.objects.filter(pk=other.pk).exists()


def test_merging_leads_moves_deals_activities_and_fills_the_qualification(rep):
    keep = LeadFactory(owner=rep, need="", budget=None, phone="")
    other = LeadFactory(owner=rep, need="A CRM", budget=Decimal("20000"), phone="+1 555")
    DealFactory(owner=rep, lead=other)
    ActivityFactory.create_batch(2, owner=rep, lead=other)

    merge_leads(survivor=keep, other=other, by=rep)

    keep.refresh_from_db()
    assert (keep.need, keep.budget, keep.phone) == ("A CRM", Decimal("20000.00"), "+1 555")
    # scored again with what it took: the migrated "need given" rule's 20 points
    assert {"need", 20} in [
        {entry["rule"].split()[0].lower(), entry["points"]} for entry in keep.score_breakdown
    ]
    assert Deal.objects.filter(lead=keep).count() == 1
    assert Activity.objects.filter(lead=keep, kind="call").count() == 2
    assert not Lead.objects.filter(pk=other.pk).exists()


def test_import_notes_follow_the_merged_record(rep):
    keep, other = LeadFactory(owner=rep), LeadFactory(owner=rep)
    batch = Import.objects.create(kind=Import.Kind.LEADS, created_by=rep, file_name="a.csv")
    ImportedRecord.objects.create(batch=batch, model="lead", object_id=other.pk, action="created")

    merge_leads(survivor=keep, other=other, by=rep)

    assert ImportedRecord.objects.get(batch=batch).object_id == keep.pk


def test_a_record_cannot_be_merged_with_itself(rep):
    contact = ContactFactory(owner=rep)
    with pytest.raises(DomainError, match="itself"):
        merge_contacts(survivor=contact, other=contact, by=rep)


def test_merging_a_record_one_may_see_but_not_change_is_refused(rep, teammate):
    mine, theirs = ContactFactory(owner=rep), ContactFactory(owner=teammate)
    DealFactory(owner=teammate, contact=theirs)

    with pytest.raises(NotAllowed):
        merge_contacts(survivor=mine, other=theirs, by=rep)

    assert Contact.objects.filter(pk=theirs.pk).exists()
    assert Deal.objects.get(owner=teammate).contact_id == theirs.pk


def test_a_merge_of_a_record_already_merged_answers_gone(rep):
    keep, other, third = (ContactFactory(owner=rep) for _ in range(3))
    merge_contacts(survivor=keep, other=other, by=rep)
    with pytest.raises(RecordGone):
        merge_contacts(survivor=third, other=other, by=rep)


# --- the API -------------------------------------------------------------------------------------


def test_api_merge_answers_what_moved(api_for, rep):
    keep, other = ContactFactory(owner=rep), ContactFactory(owner=rep)
    DealFactory(owner=rep, contact=other)

    response = api_for(rep).post(f"/api/contacts/{keep.pk}/merge/", {"other": other.pk})

    assert response.status_code == 200, response.content
    assert response.json()["moved"]["deals"] == 1
    assert response.json()["id"] == keep.pk
    assert api_for(rep).get(f"/api/contacts/{other.pk}/").status_code == 404


def test_api_merge_of_a_lead_out_of_sight_is_a_404_and_changes_nothing(
    api_for, rep, outsider, people
):
    mine, hidden = LeadFactory(owner=rep), LeadFactory(owner=outsider)
    ActivityFactory(owner=outsider, lead=hidden)

    into_mine = api_for(rep).post(f"/api/leads/{mine.pk}/merge/", {"other": hidden.pk})
    into_hidden = api_for(rep).post(f"/api/leads/{hidden.pk}/merge/", {"other": mine.pk})

    assert (into_mine.status_code, into_hidden.status_code) == (404, 404)
    assert Lead.objects.filter(pk__in=[mine.pk, hidden.pk]).count() == 2
    assert Activity.objects.get().lead_id == hidden.pk


def test_api_merge_of_a_visible_record_not_yours_is_a_403(api_for, rep, teammate, team_a):
    mine, theirs = LeadFactory(owner=rep), LeadFactory(owner=teammate)
    response = api_for(rep).post(f"/api/leads/{mine.pk}/merge/", {"other": theirs.pk})
    assert response.status_code == 403
    assert Lead.objects.filter(pk=theirs.pk).exists()


def test_api_merge_with_a_bad_other_is_a_400(api_for, rep):
    keep = CompanyFactory(owner=rep)
    for body in ({}, {"other": "x"}, {"other": 0}):
        assert api_for(rep).post(f"/api/companies/{keep.pk}/merge/", body).status_code == 400


def test_the_merge_page_merges_and_goes_back_to_the_duplicates(client, rep):
    keep, other = CompanyFactory(owner=rep), CompanyFactory(owner=rep)
    client.force_login(rep)

    response = client.post(
        f"/companies/{keep.pk}/merge/", {"other": other.pk, "next": "duplicates"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/companies/duplicates/"
    assert not Company.objects.filter(pk=other.pk).exists()


# --- two merges at once --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_the_same_record_at_once_let_one_through_whole(rep):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only real on PostgreSQL (set DATABASE_URL)")
    first, second, other = (ContactFactory(owner=rep) for _ in range(3))
    DealFactory.create_batch(3, owner=rep, contact=other)
    ActivityFactory.create_batch(5, owner=rep, contact=other)

    def attempt(survivor: Contact) -> str:
        merge_contacts(survivor=survivor, other=Contact.objects.get(pk=other.pk), by=rep)
        return f"merged into {survivor.pk}"

    outcomes = all_at_once([lambda: attempt(first), lambda: attempt(second)])
    outcomes = ["gone" if isinstance(o, RecordGone) else o for o in outcomes]

    assert sorted(outcomes)[0] == "gone"
    assert sorted(outcomes)[1].startswith("merged into")
    winner = first if f"merged into {first.pk}" in outcomes else second
    loser = second if winner is first else first
    assert Deal.objects.filter(contact=winner).count() == 3
    assert Activity.objects.filter(contact=winner).count() == 5 + 1
    assert not Deal.objects.filter(contact=loser).exists()
    assert not Activity.objects.filter(contact=loser).exists()
    assert not Contact.objects.filter(pk=other.pk).exists()
