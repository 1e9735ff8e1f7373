"""The database itself refuses duplicate and impossible contact data (SPEC §3), whatever code
writes it. These writes bypass the services on purpose (bulk inserts, queryset updates); each
runs in its own savepoint so the test transaction survives the IntegrityError.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from contacts.models import Company, Contact, Lead
from tests.factories import CompanyFactory, ContactFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_two_contacts_cannot_have_emails_differing_only_in_case():
    ann = ContactFactory(email="Ann.Lee@Initech.example")
    refused(
        lambda: Contact.objects.bulk_create(
            [Contact(first_name="Ann", email="ann.lee@INITECH.example", owner=ann.owner)]
        )
    )
    other = ContactFactory(email="someone@initech.example")
    refused(lambda: Contact.objects.filter(pk=other.pk).update(email="ANN.LEE@initech.example"))
    assert Contact.objects.filter(email__iexact="ann.lee@initech.example").count() == 1


def test_contacts_without_an_email_may_be_many():
    owner = UserFactory()
    Contact.objects.bulk_create(
        [Contact(first_name="No", email="", owner=owner), Contact(first_name="Mail", owner=owner)]
    )
    assert Contact.objects.filter(email="").count() == 2


def test_two_companies_cannot_have_domains_differing_only_in_case():
    acme = CompanyFactory(domain="acme.example")
    refused(
        lambda: Company.objects.bulk_create(
            [Company(name="ACME again", domain="ACME.example", owner=acme.owner)]
        )
    )
    assert Company.objects.filter(domain__iexact="acme.example").count() == 1


@pytest.mark.parametrize("score", [101, -1])
def test_a_lead_score_outside_0_to_100_is_refused_by_the_database(score):
    lead = LeadFactory(score=40)
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(score=score))
    lead.refresh_from_db()
    assert lead.score == 40


def test_a_negative_lead_budget_is_refused_by_the_database():
    lead = LeadFactory(budget=Decimal("1000.00"))
    refused(lambda: Lead.objects.filter(pk=lead.pk).update(budget=Decimal("-1.00")))
    lead.refresh_from_db()
    assert lead.budget == Decimal("1000.00")
