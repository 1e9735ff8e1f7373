"""Lead conversion (people.services), disqualification, scoring and owned-record writes
(contacts.services)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from contacts import services
from contacts.models import Company, Contact, Lead
from deals.models import Deal
from people.services import convert_lead
from pipeline_crm.errors import DomainError, InvalidTransition, NotAllowed
from tests.factories import CompanyFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_convert_creates_company_contact_and_deal_and_qualifies_the_lead(rep, team_a):
    lead = LeadFactory(
        owner=rep,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@engines.example",
        company_name="Analytical Engines",
        budget=Decimal("25000"),
    )

    deal = convert_lead(lead=lead, by=rep)

    assert deal.company.name == "Analytical Engines"
    assert deal.company.domain == "engines.example"
    assert deal.contact.email == "ada@engines.example"
    assert (deal.amount, deal.owner, deal.lead) == (Decimal("25000"), rep, lead)
    assert deal.stage.name == "Prospecting"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED
    assert lead.converted_at is not None


def test_convert_reuses_company_by_domain_and_contact_by_email(rep, team_a):
    company = CompanyFactory(name="Engines Ltd", domain="Engines.example", owner=rep)
    contact = ContactFactory(email="ADA@engines.example", company=company, owner=rep)
    lead = LeadFactory(owner=rep, email="ada@engines.example", company_name="Engines")

    deal = convert_lead(lead=lead, by=rep)

    assert (deal.company, deal.contact) == (company, contact)
    assert Company.objects.count() == 1
    assert Contact.objects.count() == 1


def test_convert_does_not_make_a_company_out_of_a_free_mail_domain(rep, team_a):
    lead = LeadFactory(owner=rep, email="someone@gmail.com", company_name="")

    deal = convert_lead(lead=lead, by=rep)

    assert deal.company is None
    assert not Company.objects.filter(domain="gmail.com").exists()


def test_a_lead_converts_only_once(rep, team_a):
    lead = LeadFactory(owner=rep)
    convert_lead(lead=lead, by=rep)

    with pytest.raises(InvalidTransition):
        convert_lead(lead=lead, by=rep)
    assert Deal.objects.count() == 1


def test_disqualified_lead_cannot_be_converted(rep, team_a):
    lead = services.disqualify_lead(lead=LeadFactory(owner=rep), by=rep, reason="No budget")

    with pytest.raises(InvalidTransition):
        convert_lead(lead=lead, by=rep)


def test_disqualify_needs_a_reason(rep, team_a):
    lead = LeadFactory(owner=rep)

    with pytest.raises(DomainError) as refused:
        services.disqualify_lead(lead=lead, by=rep, reason="")

    assert refused.value.field == "reason"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_teammate_cannot_convert_someone_elses_lead(rep, teammate, team_a):
    with pytest.raises(NotAllowed):
        convert_lead(lead=LeadFactory(owner=teammate), by=rep)


def test_duplicate_contact_email_ignoring_case_is_a_field_error(rep, team_a):
    ContactFactory(email="buyer@acme.example", owner=rep)

    with pytest.raises(DomainError) as refused:
        services.create_record(
            Contact, by=rep, fields={"first_name": "B", "email": "BUYER@acme.example"}
        )

    assert refused.value.field == "email"
    assert Contact.objects.count() == 1


def test_lead_score_follows_the_qualification_facts(rep, team_a):
    bare = services.create_record(Lead, by=rep, fields={"first_name": "Cold", "source": "import"})
    qualified = services.create_record(
        Lead,
        by=rep,
        fields={
            "first_name": "Warm",
            "email": "warm@buyer.example",
            "source": "referral",
            "need": "Replace spreadsheets",
            "budget": Decimal("50000"),
            "authority": True,
            "timeline": timezone.localdate() + dt.timedelta(days=30),
        },
    )

    assert bare.score == 2
    assert qualified.score == 100
    assert [(part["rule"], part["points"]) for part in qualified.score_breakdown] == [
        ("Need is set", 20),
        ("Budget ≥ 0.01", 10),
        ("Budget ≥ 10000.00", 10),
        ("Decision maker equals yes", 20),
        ("Days until the timeline ≥ 0", 10),
        ("Source equals Referral", 20),
        ("Reachable (e-mail or phone) equals yes", 10),
    ]


def test_editing_a_lead_recomputes_its_score(rep, team_a):
    lead = services.create_record(Lead, by=rep, fields={"first_name": "L", "source": "other"})

    lead = services.update_record(lead, by=rep, changes={"authority": True})

    assert Lead.objects.get(pk=lead.pk).score == lead.score == 22


def test_rep_cannot_edit_a_teammates_contact(rep, teammate, team_a):
    contact = ContactFactory(owner=teammate)

    with pytest.raises(NotAllowed):
        services.update_record(contact, by=rep, changes={"title": "CEO"})
