"""The people pages in a real browser: search as you type, inline edit, logging a call,
converting a lead, the company autocomplete (Playwright driving Debian's Chromium)."""

import re

import pytest

from contacts.models import Lead
from deals.models import Deal
from tests.browser.conftest import (  # noqa: F401 - the browser fixtures, shared
    chromium,
    open_page,
    seed_data,
)
from tests.factories import CompanyFactory, LeadFactory, TeamFactory, UserFactory

# serialized_rollback: the flush after each test must bring back the migrations' roles and pipeline.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def seller(db):
    user = UserFactory(username="seller", role="rep", first_name="Sel", last_name="Ler")
    TeamFactory(name="Browsers", members=[user])
    return user


@pytest.fixture
def page(request, seller):
    """A page signed in as `seller` (through tests/browser's `open_page`)."""
    tab = request.getfixturevalue("open_page")(seller, "/board/", height=900)
    tab.set_default_timeout(10_000)
    return tab


def _mark_page(tab) -> None:
    """A flag on window survives htmx swaps but not a full page load."""
    tab.evaluate("window.__noReload = true")


def _still_same_page(tab) -> bool:
    return tab.evaluate("window.__noReload === true")


def test_search_as_you_type_narrows_the_list_and_updates_the_url(page, live_server, seller):
    LeadFactory(owner=seller, first_name="Gustav", company_name="Zeppelin Air")
    LeadFactory(owner=seller, first_name="Hedda", company_name="Fjord Fish")
    page.goto(f"{live_server.url}/leads/")
    _mark_page(page)

    page.fill("#lead-q", "zepp")

    page.wait_for_function("() => !document.querySelector('#results').innerText.includes('Hedda')")
    assert "Gustav" in page.inner_text("#results")
    assert re.search(r"[?&]q=zepp", page.url)
    assert _still_same_page(page)

    page.go_back()
    page.wait_for_function("() => document.querySelector('#results').innerText.includes('Hedda')")


def test_inline_edit_saves_without_leaving_the_page(page, live_server, seller):
    lead = LeadFactory(owner=seller, first_name="Before", need="")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    _mark_page(page)

    page.click("#record-card >> text=Edit")
    page.fill("#record-card input[name=first_name]", "After")
    page.fill("#record-card textarea[name=need]", "Needs a CRM")
    page.click("#record-card >> button:has-text('Save')")

    page.wait_for_selector("#record-card h1:has-text('After')")
    assert _still_same_page(page)
    lead.refresh_from_db()
    assert lead.first_name == "After"
    assert "Need is set\n+20" in page.inner_text("#record-card")  # the need now scores


def test_inline_edit_shows_a_field_error_in_place(page, live_server, seller):
    lead = LeadFactory(owner=seller)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.click("#record-card >> text=Edit")
    page.fill("#record-card input[name=budget]", "-10")
    page.evaluate("document.querySelector('#record-card form').noValidate = true")
    page.click("#record-card >> button:has-text('Save')")

    page.wait_for_selector("#record-card .field-error")
    assert page.is_visible("#record-card input[name=budget]")


def test_logging_a_call_appears_in_the_timeline(page, live_server, seller):
    lead = LeadFactory(owner=seller)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    _mark_page(page)

    page.select_option("#activity_kind", "call")
    page.fill("#activity_subject", "Left a voicemail")
    page.click("#activities >> button:has-text('Save activity')")

    page.wait_for_selector("#activities .timeline >> text=Left a voicemail")
    assert _still_same_page(page)
    assert page.input_value("#activity_subject") == ""


def test_convert_opens_the_new_deal(page, live_server, seller):
    lead = LeadFactory(owner=seller, company_name="Orbital Foods")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")

    page.click("#convert >> button:has-text('Convert')")
    page.wait_for_load_state()

    deal = Deal.objects.get(lead=lead)
    assert page.url.rstrip("/").endswith((f"/deals/{deal.pk}", "/board"))
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.QUALIFIED


def test_disqualify_without_a_reason_explains_why(page, live_server, seller):
    lead = LeadFactory(owner=seller)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    page.evaluate("document.querySelector('#disqualify form').noValidate = true")
    page.click("#disqualify >> button:has-text('Disqualify')")
    page.wait_for_selector("#disqualify >> text=Say why the lead is disqualified.")


def test_company_field_suggests_existing_companies(page, live_server, seller):
    CompanyFactory(name="Northwind Traders", owner=seller)
    page.goto(f"{live_server.url}/contacts/new/")
    page.fill("input[name=company_name]", "northw")
    page.wait_for_function(
        "() => document.querySelectorAll('#company-options option').length === 1"
    )
    assert page.get_attribute("#company-options option", "value") == "Northwind Traders"
