"""List and detail pages cost the same number of queries for 5 rows as for 200, and every
state-changing request needs the CSRF token."""

import pytest
from django.test import Client
from django.urls import reverse

from followups.models import Activity
from tests.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory

# Every page: session, user, role groups, unread notifications (top bar). Then a list adds its
# count and its page of rows (leads: and the owner filter's people); a detail page adds the
# record, the write check and one query per section. One query of slack over today's figures.
# A company's page: its timeline (people.timeline: planned, then three sources) and the open
# deals an activity may be logged on, in place of its own activities' one query.
LEAD_LIST_BUDGET = 8
LIST_QUERY_BUDGET = 7
# A lead page adds the conversion preview: company by domain, by name, contact by e-mail, and
# how many activities would move (at most four, whatever the lead has).
LEAD_DETAIL_BUDGET = 14
COMPANY_DETAIL_BUDGET = 13


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every person fixture hashes a password; the production hasher costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def as_rep(client, rep, people):
    client.force_login(rep)
    return client


@pytest.mark.parametrize("rows", [5, 200])
def test_lead_list_queries_do_not_grow_with_rows(
    as_rep, rep, teammate, rows, django_assert_max_num_queries
):
    for index in range(rows):
        LeadFactory(owner=rep if index % 2 else teammate, score_breakdown={"need": 20})
    with django_assert_max_num_queries(LEAD_LIST_BUDGET):
        response = as_rep.get(reverse("leads"), {"q": "e", "sort": "-score"})
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_contact_list_queries_do_not_grow_with_rows(
    as_rep, rep, outsider, rows, django_assert_max_num_queries
):
    company = CompanyFactory(owner=rep)
    for index in range(rows):
        ContactFactory(owner=rep if index % 2 else outsider, company=company if index % 3 else None)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        response = as_rep.get(reverse("contacts"))
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_company_list_queries_do_not_grow_with_rows(
    as_rep, rep, outsider, rows, django_assert_max_num_queries
):
    for index in range(rows):
        company = CompanyFactory(owner=rep if index % 2 else outsider)
        if index % 10 == 0:
            ContactFactory(owner=rep, company=company)
            DealFactory(owner=rep, company=company)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        response = as_rep.get(reverse("companies"))
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_company_page_queries_do_not_grow_with_contacts_deals_and_activities(
    as_rep, rep, teammate, rows, django_assert_max_num_queries
):
    company = CompanyFactory(owner=rep)
    for index in range(rows):
        owner = rep if index % 2 else teammate
        ContactFactory(owner=owner, company=company)
        DealFactory(owner=owner, company=company)
        Activity.objects.create(kind="call", subject=f"Call {index}", owner=owner, company=company)
    with django_assert_max_num_queries(COMPANY_DETAIL_BUDGET):
        response = as_rep.get(reverse("company-detail", args=[company.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_lead_page_queries_do_not_grow_with_activities(
    as_rep, rep, teammate, rows, django_assert_max_num_queries
):
    lead = LeadFactory(owner=rep)
    for index in range(rows):
        owner = rep if index % 2 else teammate
        Activity.objects.create(kind="note", subject=f"Note {index}", owner=owner, lead=lead)
    with django_assert_max_num_queries(LEAD_DETAIL_BUDGET):
        response = as_rep.get(reverse("lead-detail", args=[lead.pk]))
    assert response.status_code == 200


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(rep, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    return client


def test_every_form_post_without_the_csrf_token_is_refused(csrf_client, rep):
    lead = LeadFactory(owner=rep)
    contact = ContactFactory(owner=rep)
    company = CompanyFactory(owner=rep)
    planned = Activity.objects.create(kind="task", subject="Later", owner=rep, lead=lead)
    posts = [
        (reverse("lead-create"), {"first_name": "X"}),
        (reverse("lead-edit", args=[lead.pk]), {"first_name": "X"}),
        (reverse("lead-convert", args=[lead.pk]), {}),
        (reverse("lead-disqualify", args=[lead.pk]), {"reason": "x"}),
        (reverse("lead-activity", args=[lead.pk]), {"kind": "call", "subject": "x"}),
        (reverse("lead-delete", args=[lead.pk]), {}),
        (reverse("lead-activity-done", args=[lead.pk, planned.pk]), {}),
        (reverse("contact-create"), {"first_name": "X"}),
        (reverse("contact-edit", args=[contact.pk]), {"first_name": "X"}),
        (reverse("contact-activity", args=[contact.pk]), {"kind": "call", "subject": "x"}),
        (reverse("contact-delete", args=[contact.pk]), {}),
        (reverse("company-create"), {"name": "X"}),
        (reverse("company-edit", args=[company.pk]), {"name": "X"}),
        (reverse("company-activity", args=[company.pk]), {"kind": "call", "subject": "x"}),
        (reverse("company-delete", args=[company.pk]), {}),
    ]
    for url, data in posts:
        assert csrf_client.post(url, data).status_code == 403, url
    lead.refresh_from_db()
    assert lead.status == "new"
    assert contact.__class__.objects.filter(pk=contact.pk).exists()
    assert company.__class__.objects.filter(pk=company.pk).exists()
    assert list(Activity.objects.all()) == [planned]
    planned.refresh_from_db()
    assert planned.done_at is None


def test_pages_carry_the_csrf_token_for_their_forms_and_htmx(csrf_client, rep):
    lead = LeadFactory(owner=rep)
    page = csrf_client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 4  # activity, convert, disqualify, delete
    assert '"X-CSRFToken"' in page  # htmx requests send it as a header


def test_a_post_with_the_token_goes_through(csrf_client, rep):
    lead = LeadFactory(owner=rep)
    page = csrf_client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    marker = 'name="csrfmiddlewaretoken" value="'
    token = page[page.index(marker) + len(marker) :].split('"', 1)[0]
    response = csrf_client.post(
        reverse("lead-disqualify", args=[lead.pk]),
        {"reason": "Gone quiet", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


# --- hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize("nasty", ["\x00", "x" * 10_000, "-1e999", "<script>alert(1)</script>"])
def test_hostile_input_to_any_form_is_a_form_error_never_a_server_error(as_rep, rep, nasty):
    lead = LeadFactory(owner=rep)
    contact = ContactFactory(owner=rep)
    company = CompanyFactory(owner=rep)
    fields = [
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "source",
        "status",
        "need",
        "budget",
        "timeline",
        "owner",
        "title",
        "name",
        "domain",
        "industry",
        "size",
        "kind",
        "subject",
        "body",
        "due_at",
        "reason",
        "amount",
        "pipeline",
    ]
    data = dict.fromkeys(fields, nasty)
    urls = [
        reverse("lead-create"),
        reverse("lead-edit", args=[lead.pk]),
        reverse("lead-convert", args=[lead.pk]),
        reverse("lead-disqualify", args=[lead.pk]),
        reverse("lead-activity", args=[lead.pk]),
        reverse("contact-create"),
        reverse("contact-edit", args=[contact.pk]),
        reverse("contact-activity", args=[contact.pk]),
        reverse("company-create"),
        reverse("company-edit", args=[company.pk]),
        reverse("company-activity", args=[company.pk]),
    ]
    for url in urls:
        response = as_rep.post(url, data)
        assert response.status_code in (302, 400), (url, response.status_code)
        assert b"<script>alert(1)</script>" not in response.content
