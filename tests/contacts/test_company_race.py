"""Companies found again or created once, under real contention (PostgreSQL): the check and the
create are serialized per name or e-mail domain (`pipeline_crm.db.serialize_on`), because a
company name is not unique and no database constraint could settle the race."""

import pytest
from django.db import connection

from contacts.models import Company, Contact
from deals.models import Deal
from people.services import convert_lead
from tests.clients import htmx_post, signed_in
from tests.concurrency import all_at_once
from tests.factories import LeadFactory, stage_named

# serialized_rollback comes from tests/conftest.py for every transactional test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite runs one write transaction at a time: no race to lose (set DATABASE_URL)"
        )


def test_fifty_quick_adds_naming_the_same_new_company_at_once_make_one_company(rep, team_a):
    stage = stage_named("Prospecting")
    url = f"/board/{stage.pipeline_id}/stages/{stage.pk}/add/"
    clients = [signed_in(rep) for _ in range(50)]

    def quick_add(client, n):
        return lambda: htmx_post(client, url, {"title": f"Deal {n}", "company": "Brand New Co"})

    responses = all_at_once([quick_add(client, n) for n, client in enumerate(clients)])

    assert [getattr(r, "status_code", r) for r in responses] == [201] * 50
    (company,) = Company.objects.filter(name__iexact="brand new co")
    assert Deal.objects.filter(company=company).count() == 50


def test_leads_of_one_new_domain_converted_at_once_share_one_company(rep, team_a):
    leads = [
        LeadFactory(owner=rep, email=f"buyer{n}@newco.example", company_name="NewCo")
        for n in range(10)
    ]

    deals = all_at_once([lambda lead=lead: convert_lead(lead=lead, by=rep) for lead in leads])

    assert all(isinstance(deal, Deal) for deal in deals), deals
    (company,) = Company.objects.filter(domain="newco.example")
    assert {deal.company_id for deal in deals} == {company.pk}
    assert Contact.objects.filter(company=company).count() == 10
