"""Leads (convert, disqualify), contacts and companies through the API."""

import pytest

from contacts.models import Company, Contact, Lead
from deals.models import Deal
from tests.factories import CompanyFactory, ContactFactory, LeadFactory, stage_named

pytestmark = pytest.mark.django_db


def test_convert_reuses_the_company_by_domain_and_the_contact_by_email(rep, api_for):
    company = CompanyFactory(name="Initech Ltd", domain="initech.example", owner=rep)
    contact = ContactFactory(email="Peter@Initech.example", company=company, owner=rep)
    lead = LeadFactory(
        owner=rep,
        first_name="Peter",
        email="peter@initech.example",
        company_name="Initech",
        budget="8000.00",
    )
    response = api_for(rep).post(f"/api/leads/{lead.pk}/convert/", {})
    assert response.status_code == 201, response.json()
    deal = response.json()
    assert deal["company"] == company.pk
    assert deal["contact"] == contact.pk
    assert deal["lead"] == lead.pk
    assert deal["amount"] == "8000.00"
    assert deal["stage"] == stage_named("Prospecting").pk
    assert Company.objects.filter(domain__iexact="initech.example").count() == 1
    assert Contact.objects.filter(email__iexact="peter@initech.example").count() == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED


def test_convert_creates_company_and_contact_when_new_and_takes_title_and_amount(rep, api_for):
    lead = LeadFactory(owner=rep, email="jane@globex.example", company_name="Globex")
    response = api_for(rep).post(
        f"/api/leads/{lead.pk}/convert/", {"title": "Globex pilot", "amount": "1500"}
    )
    assert response.status_code == 201
    deal = Deal.objects.get(pk=response.json()["id"])
    assert deal.title == "Globex pilot"
    assert str(deal.amount) == "1500.00"
    assert deal.company.domain == "globex.example"
    assert deal.contact.email == "jane@globex.example"
    assert deal.owner == rep


def test_a_lead_converts_only_once(rep, api_for):
    lead = LeadFactory(owner=rep)
    client = api_for(rep)
    assert client.post(f"/api/leads/{lead.pk}/convert/", {}).status_code == 201
    again = client.post(f"/api/leads/{lead.pk}/convert/", {})
    assert again.status_code == 400
    assert Deal.objects.filter(lead=lead).count() == 1


def test_disqualify_records_the_reason_and_blocks_conversion(rep, api_for):
    lead = LeadFactory(owner=rep)
    client = api_for(rep)
    response = client.post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "No budget this year"})
    assert response.status_code == 200
    assert response.json()["status"] == "disqualified"
    lead.refresh_from_db()
    assert lead.disqualified_reason == "No budget this year"
    assert client.post(f"/api/leads/{lead.pk}/convert/", {}).status_code == 400


def test_a_teammate_sees_the_lead_but_cannot_convert_it(people, api_for):
    lead = LeadFactory(owner=people["rep"])
    client = api_for(people["teammate"])
    assert client.get(f"/api/leads/{lead.pk}/").status_code == 200
    assert client.post(f"/api/leads/{lead.pk}/convert/", {}).status_code == 403
    assert api_for(people["outsider"]).post(f"/api/leads/{lead.pk}/convert/", {}).status_code == 404
    assert not Deal.objects.filter(lead=lead).exists()


def test_a_lead_is_scored_on_create_and_rescored_on_change(rep, api_for):
    client = api_for(rep)
    created = client.post(
        "/api/leads/", {"first_name": "Ann", "source": "referral", "email": "ann@acme.example"}
    ).json()
    assert created["score"] == 30  # referral 20 + contactable 10
    assert [(part["rule"], part["points"]) for part in created["score_breakdown"]] == [
        ("Source equals Referral", 20),
        ("Reachable (e-mail or phone) equals yes", 10),
    ]
    changed = client.patch(
        f"/api/leads/{created['id']}/", {"authority": True, "need": "CRM replacement"}
    ).json()
    assert changed["score"] == 70


def test_lead_fields_are_those_of_the_spec(rep, api_for):
    lead = LeadFactory(owner=rep)
    body = api_for(rep).get(f"/api/leads/{lead.pk}/").json()
    assert set(body) == {
        "id", "first_name", "last_name", "email", "phone", "company_name", "source", "status",
        "need", "budget", "authority", "timeline", "owner", "score", "score_breakdown",
        "learned_score",
    }  # fmt: skip


def test_contacts_and_companies_read_with_the_spec_fields(rep, api_for):
    contact = ContactFactory(owner=rep)
    client = api_for(rep)
    assert set(client.get(f"/api/contacts/{contact.pk}/").json()) == {
        "id", "first_name", "last_name", "email", "phone", "title", "company", "owner",
    }  # fmt: skip
    assert set(client.get(f"/api/companies/{contact.company_id}/").json()) == {
        "id", "name", "domain", "industry", "size", "owner",
    }  # fmt: skip


def test_a_company_domain_is_stored_bare_and_unique(rep, api_for):
    client = api_for(rep)
    created = client.post(
        "/api/companies/", {"name": "Hooli", "domain": "https://www.Hooli.example/"}
    )
    assert created.status_code == 201
    assert created.json()["domain"] == "hooli.example"
    clash = client.post("/api/companies/", {"name": "Hooli again", "domain": "HOOLI.example"})
    assert clash.status_code == 400
    assert "domain" in clash.json()


def test_a_rep_cannot_create_records_for_someone_else(people, api_for):
    response = api_for(people["rep"]).post(
        "/api/contacts/", {"first_name": "Zed", "owner": people["outsider"].pk}
    )
    assert response.status_code == 400
    assert "owner" in response.json()
    assert not Contact.objects.filter(first_name="Zed").exists()


def test_contacts_filter_by_text_and_company(rep, api_for):
    acme = CompanyFactory(name="Acme")
    # Last names are pinned: a random one such as "Wilson" would match "wil" too.
    ContactFactory(first_name="Wile", last_name="Coyote", company=acme, owner=rep)
    ContactFactory(first_name="Road", last_name="Runner", company=None, owner=rep)
    client = api_for(rep)
    assert [c["first_name"] for c in client.get("/api/contacts/?q=wil").json()["results"]] == [
        "Wile"
    ]
    assert client.get(f"/api/contacts/?company={acme.pk}").json()["count"] == 1
    assert client.get("/api/contacts/?q=acme").json()["count"] == 1
