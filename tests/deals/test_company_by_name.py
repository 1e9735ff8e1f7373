"""A company typed by name on the board or the deal page is found or created by the deal
service itself, in the same transaction as the change: a refused change leaves no company."""

import pytest

from contacts.models import Company
from deals import services
from pipeline_crm.errors import MissingRequiredFields, StaleVersion
from tests.factories import CompanyFactory, DealFactory, stage_named

pytestmark = pytest.mark.django_db


def test_a_deal_created_with_a_new_company_name_creates_the_company(rep, team_a):
    deal = services.create_deal(by=rep, title="Roof", company="Brand New Roofing")

    assert deal.company is not None
    assert deal.company.name == "Brand New Roofing"
    assert deal.company.owner == rep


def test_a_company_name_finds_the_existing_company_ignoring_case(rep, team_a):
    existing = CompanyFactory(name="Acme Corp", owner=rep)
    deal = DealFactory(owner=rep)

    services.update_deal(deal=deal, by=rep, changes={"company": "ACME corp"})

    deal.refresh_from_db()
    assert deal.company == existing
    assert Company.objects.count() == 1


def test_a_refused_edit_leaves_no_company_behind(rep, team_a):
    deal = DealFactory(owner=rep)
    services.update_deal(deal=deal, by=rep, changes={"title": "Renamed"})

    with pytest.raises(StaleVersion):
        services.update_deal(deal=deal, by=rep, changes={"company": "Ghost Ltd"}, version=1)

    assert not Company.objects.filter(name="Ghost Ltd").exists()


def test_a_refused_move_leaves_no_company_behind(rep, team_a):
    proposal = stage_named("Proposal")
    proposal.required_fields = ["company", "amount"]
    proposal.save()
    deal = DealFactory(owner=rep, amount=None)

    with pytest.raises(MissingRequiredFields):
        services.move_deal(
            deal=deal, by=rep, stage=proposal, version=deal.version, values={"company": "Half Co"}
        )

    assert not Company.objects.filter(name="Half Co").exists()
