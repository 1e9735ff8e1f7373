"""Logging an activity on a contact or company page also puts it on their open deal when there
is exactly one (one the user may change); with several the form asks which, or none
(people.services.log_on_record decides, the form only reads the answer)."""

import pytest
from django.urls import reverse

from followups.models import Activity
from tests.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "activities"}


@pytest.fixture
def as_rep(client, rep, people):
    client.force_login(rep)
    return client


@pytest.fixture
def ann(rep, teammate):
    """A contact of rep's with one open deal of rep's, a lost one, and a teammate's open deal
    (rep reads it but may not log on it)."""
    contact = ContactFactory(first_name="Ann", owner=rep)
    DealFactory(title="Lost one", owner=rep, contact=contact, status="lost")
    DealFactory(title="Teammate's", owner=teammate, contact=contact)
    return contact


def log(client, name, record, **data):
    url = reverse(f"{name}-activity", args=[record.pk])
    return client.post(url, {"kind": "call", "subject": "Rang them", **data}, **HTMX)


def test_with_one_open_deal_the_activity_goes_on_it_too(as_rep, rep, ann):
    deal = DealFactory(title="Renewal", owner=rep, contact=ann)

    page = as_rep.get(reverse("contact-detail", args=[ann.pk])).content.decode()
    response = log(as_rep, "contact", ann)

    assert "Also logged on the deal “Renewal”" in page
    assert 'name="deal"' not in page
    assert response.status_code == 200
    activity = Activity.objects.get(subject="Rang them")
    assert (activity.contact, activity.deal) == (ann, deal)


def test_on_a_company_page_its_one_open_deal_gets_it(as_rep, rep):
    company = CompanyFactory(owner=rep)
    deal = DealFactory(owner=rep, company=company)

    log(as_rep, "company", company)

    activity = Activity.objects.get(subject="Rang them")
    assert (activity.company, activity.deal) == (company, deal)


def test_with_two_open_deals_the_form_asks_which(as_rep, rep, ann):
    first = DealFactory(title="Renewal", owner=rep, contact=ann)
    second = DealFactory(title="Upsell", owner=rep, contact=ann)

    page = as_rep.get(reverse("contact-detail", args=[ann.pk])).content.decode()
    unanswered = log(as_rep, "contact", ann)

    assert 'name="deal"' in page
    for option in ("Renewal", "Upsell", "No deal"):
        assert f">{option}</option>" in page
    assert ">Lost one</option>" not in page
    assert ">Teammate&#x27;s</option>" not in page
    assert unanswered.status_code == 422
    assert "Which deal is this about?" in unanswered.content.decode()
    assert not Activity.objects.exists()

    log(as_rep, "contact", ann, deal=str(second.pk), subject="On the upsell")
    log(as_rep, "contact", ann, deal="none", subject="On none")
    assert Activity.objects.get(subject="On the upsell").deal == second
    assert Activity.objects.get(subject="On none").deal is None
    assert not Activity.objects.filter(deal=first).exists()


@pytest.mark.parametrize("answer", ["elsewhere", "abc", "99999999999999999999999"])
def test_a_deal_not_offered_is_refused_on_the_field(as_rep, rep, ann, answer):
    DealFactory(owner=rep, contact=ann)
    DealFactory(owner=rep, contact=ann)
    other = DealFactory(owner=rep, contact=ContactFactory(owner=rep))

    response = log(as_rep, "contact", ann, deal=str(other.pk) if answer == "elsewhere" else answer)

    assert response.status_code == 422
    assert "field-error" in response.content.decode()
    assert not Activity.objects.exists()


def test_a_lead_page_logs_on_the_lead_alone(as_rep, rep):
    lead = LeadFactory(owner=rep)

    page = as_rep.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    log(as_rep, "lead", lead)

    assert 'name="deal"' not in page
    activity = Activity.objects.get(subject="Rang them")
    assert (activity.lead, activity.deal) == (lead, None)
