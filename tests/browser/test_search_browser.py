"""The top bar's search box in a real browser (Chromium through Playwright): the keyboard path."""

import re

import pytest

from tests.factories import CompanyFactory, ContactFactory, DealFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def rita(db):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    TeamFactory(name="North", members=[rep])
    return rep


def test_slash_type_arrow_down_enter_opens_the_record(open_page, rita):
    company = CompanyFactory(name="Bluepeak Foods", owner=rita)
    contact = ContactFactory(first_name="Ines", last_name="Moreau", company=company, owner=rita)
    deal = DealFactory(title="Bluepeak fleet rollout", owner=rita, company=company, contact=contact)
    page = open_page(rita)
    box = page.locator("#topsearch-q")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "topsearch-q"
    page.keyboard.type("rollout")
    options = page.locator('#search-suggestions [role="option"]')
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert "Bluepeak fleet rollout" in options.first.inner_text()

    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "search-option-0"
    assert options.first.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/deals/{deal.pk}/$"))
    assert page.errors == []


def test_escape_closes_the_dropdown_and_enter_opens_the_search_page(open_page, rita):
    CompanyFactory(name="Bluepeak Foods", owner=rita)
    page = open_page(rita)
    box = page.locator("#topsearch-q")

    page.keyboard.press("/")
    page.keyboard.type("bluepeak")
    page.locator('#search-suggestions [role="option"]').first.wait_for()
    page.keyboard.press("Escape")
    assert page.locator("#search-suggestions").is_hidden()
    assert box.get_attribute("aria-expanded") == "false"

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=bluepeak$"))
    assert "Companies" in page.locator("#search-results").inner_text()


def test_slash_typed_into_a_field_stays_in_that_field(open_page, rita):
    page = open_page(rita, path="/contacts/")
    field = page.locator("#contact-q")
    field.click()
    page.keyboard.type("a/b")
    assert field.input_value() == "a/b"
    assert page.evaluate("document.activeElement.id") == "contact-q"
