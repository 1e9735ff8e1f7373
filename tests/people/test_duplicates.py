"""Likely duplicates (SPEC §9 Merge): the groups, the "Looks like …" warnings while creating or
editing, and what a lead's conversion will reuse."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from deals.models import Deal
from followups.models import Activity
from people.duplicates import duplicate_groups, looks_like
from people.services import convert_lead
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram similarity needs PostgreSQL"
)


def _names(groups):
    return [sorted(str(record) for record in group.records) for group in groups]


def test_contacts_with_the_same_name_in_any_case_are_one_group(rep):
    ContactFactory(owner=rep, first_name="Ann", last_name="Lee")
    ContactFactory(owner=rep, first_name="ann ", last_name="LEE")
    ContactFactory(owner=rep, first_name="Bob", last_name="Stone")

    groups = duplicate_groups(ContactFactory._meta.model, user=rep)

    assert [[record.last_name for record in group.records] for group in groups] == [["Lee", "LEE"]]
    assert "same name" in groups[0].reasons


def test_leads_sharing_an_email_in_another_case_are_one_group(rep):
    LeadFactory(owner=rep, first_name="Ann", last_name="Lee", email="ann@acme.example")
    LeadFactory(owner=rep, first_name="A.", last_name="Lee", email="ANN@Acme.example")

    groups = duplicate_groups(LeadFactory._meta.model, user=rep)

    assert len(groups) == 1
    assert "same e-mail" in groups[0].reasons
    assert [record.first_name for record in groups[0].records] == ["Ann", "A."]  # oldest first


def test_companies_sharing_a_domain_but_for_www_are_one_group(rep):
    CompanyFactory(owner=rep, name="Acme", domain="acme.example")
    CompanyFactory(owner=rep, name="ACME Corp", domain="www.acme.example")
    CompanyFactory(owner=rep, name="Other", domain="other.example")

    groups = duplicate_groups(CompanyFactory._meta.model, user=rep)

    assert _names(groups) == [["ACME Corp", "Acme"]]
    assert groups[0].reasons == {"same domain"}


@needs_postgresql
def test_similar_names_are_found_on_postgresql(rep):
    CompanyFactory(owner=rep, name="Northwind Traders", domain="")
    CompanyFactory(owner=rep, name="Northwind Trader", domain="")
    CompanyFactory(owner=rep, name="Contoso", domain="")

    groups = duplicate_groups(CompanyFactory._meta.model, user=rep)

    assert _names(groups) == [["Northwind Trader", "Northwind Traders"]]
    assert groups[0].reasons == {"similar name"}


def test_leads_out_of_sight_are_not_listed(rep, outsider, people):
    LeadFactory(owner=rep, email="same@acme.example")
    LeadFactory(owner=outsider, email="same@acme.example")
    assert duplicate_groups(LeadFactory._meta.model, user=rep) == []


def test_api_lists_the_groups(api_for, rep):
    LeadFactory(owner=rep, email="same@acme.example")
    LeadFactory(owner=rep, email="Same@acme.example")

    response = api_for(rep).get("/api/leads/duplicates/")

    assert response.status_code == 200
    [group] = response.json()
    assert group["reasons"] == ["same e-mail"]
    assert len(group["records"]) == 2


def test_the_duplicates_page_has_tabs_and_merge_buttons(client, rep):
    ContactFactory(owner=rep, first_name="Ann", last_name="Lee")
    other = ContactFactory(owner=rep, first_name="Ann", last_name="Lee")
    client.force_login(rep)

    page = client.get("/contacts/duplicates/").content.decode()

    assert 'href="/companies/duplicates/"' in page
    assert 'href="/leads/duplicates/"' in page
    assert f'name="other" value="{other.pk}"' in page
    assert "Merge into Ann Lee" in page


# --- warnings while creating or editing ----------------------------------------------------------


def test_a_new_lead_with_a_contacts_email_looks_like_that_contact(rep):
    contact = ContactFactory(owner=rep, email="ann@acme.example")
    lead = LeadFactory(owner=rep, email="ANN@acme.example")

    found = looks_like(type(lead), user=rep, fields={"email": "ann@acme.example"})

    assert {(type(a.record).__name__, a.record.pk) for a in found} == {
        ("Contact", contact.pk),
        ("Lead", lead.pk),
    }


def test_the_form_warning_links_to_the_look_alike_and_allows_saving(client, rep):
    existing = ContactFactory(owner=rep, first_name="Ann", last_name="Lee")
    client.force_login(rep)

    warning = client.get("/contacts/similar/", {"first_name": "ann", "last_name": "lee"})

    assert "Looks like" in warning.content.decode()
    assert f'href="/contacts/{existing.pk}/"' in warning.content.decode()
    form = client.get("/contacts/new/").content.decode()
    assert 'hx-get="/contacts/similar/"' in form
    created = client.post("/contacts/new/", {"first_name": "Ann", "last_name": "Lee"}, follow=True)
    assert created.status_code == 200
    assert "Looks like Ann Lee (same name)" in created.content.decode()


def test_the_edit_warning_leaves_out_the_record_itself(client, rep):
    contact = ContactFactory(owner=rep, first_name="Ann", last_name="Lee")
    client.force_login(rep)
    warning = client.get(
        "/contacts/similar/", {"first_name": "Ann", "last_name": "Lee", "exclude": contact.pk}
    )
    assert "Looks like" not in warning.content.decode()


def test_creating_a_lead_through_the_api_warns_of_a_contact_with_its_email(api_for, rep):
    contact = ContactFactory(owner=rep, email="ann@acme.example")

    response = api_for(rep).post("/api/leads/", {"email": "Ann@Acme.example"})

    assert response.status_code == 201
    assert response.json()["looks_like"] == [
        {"type": "contact", "id": contact.pk, "name": str(contact), "reason": "same e-mail"}
    ]


# --- conversion: the preview, the timeline and the decision date ----------------------------------


def test_the_conversion_preview_names_what_is_reused_and_created(api_for, client, rep):
    company = CompanyFactory(owner=rep, name="Acme", domain="acme.example")
    lead = LeadFactory(owner=rep, email="new.person@acme.example", first_name="New")
    ActivityFactory.create_batch(2, owner=rep, lead=lead)

    preview = api_for(rep).get(f"/api/leads/{lead.pk}/convert-preview/").json()

    assert preview["company"] == {"reused": company.pk, "created": ""}
    assert preview["contact"] == {"reused": None, "created": f"New {lead.last_name}"}
    assert preview["activities"] == 2
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'reuses <a href="/companies/{company.pk}/">Acme</a>' in page
    assert f"creates “New {lead.last_name}”" in page


def test_conversion_carries_the_leads_activities_and_its_decision_date(rep):
    decides_by = timezone.localdate() + dt.timedelta(days=40)
    lead = LeadFactory(owner=rep, timeline=decides_by)
    ActivityFactory.create_batch(3, owner=rep, lead=lead)

    deal = convert_lead(lead=lead, by=rep)

    assert Deal.objects.get(pk=deal.pk).expected_close_date == decides_by
    assert Activity.objects.filter(deal=deal).count() == 3
    assert Activity.objects.filter(contact=deal.contact, lead=lead).count() == 3
