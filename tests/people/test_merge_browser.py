"""Merging two contacts from the Duplicates page in a real browser (Playwright, Chromium)."""

import pytest

from contacts.models import Contact
from deals.models import Deal
from tests.browser.conftest import (  # noqa: F401 - the browser fixtures, shared
    chromium,
    open_page,
    seed_data,
)
from tests.contacts import test_pages_browser as people_pages
from tests.factories import ContactFactory, DealFactory

# The people pages' browser set-up: a signed-in `page` of the rep `seller`.
page = people_pages.page
seller = people_pages.seller

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_contacts_merged_from_the_duplicates_page(page, live_server, seller):
    keep = ContactFactory(owner=seller, first_name="Ann", last_name="Lee", phone="")
    other = ContactFactory(owner=seller, first_name="Ann", last_name="Lee", phone="+1 555 0100")
    DealFactory(owner=seller, contact=other, title="Ann's renewal")

    page.goto(f"{live_server.url}/contacts/")
    page.click("text=Duplicates")
    page.wait_for_selector(".duplicate-group")
    page.once("dialog", lambda dialog: dialog.accept())  # "Merge … into …?"
    page.click(".duplicate-group button:has-text('Merge into Ann Lee')")

    page.wait_for_selector("text=No likely duplicate contacts")
    assert "Merged “Ann Lee” into Ann Lee." in page.inner_text("body")
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert Deal.objects.get(title="Ann's renewal").contact_id == keep.pk
    page.goto(f"{live_server.url}/contacts/{keep.pk}/")
    assert "+1 555 0100" in page.inner_text("#record-card")
    assert "Merged contact “Ann Lee”" in page.inner_text("#activities")


def test_the_new_contact_form_warns_of_a_look_alike_as_one_types(page, live_server, seller):
    ContactFactory(owner=seller, first_name="Greta", last_name="Garbo")
    page.goto(f"{live_server.url}/contacts/new/")

    page.fill("input[name=first_name]", "Greta")
    page.fill("input[name=last_name]", "Garbo")
    page.press("input[name=last_name]", "Tab")

    page.wait_for_selector("#looks-like:has-text('Looks like')")
    page.click("button:has-text('Create')")
    page.wait_for_selector("text=Contact Greta Garbo created.")
    assert Contact.objects.filter(first_name="Greta").count() == 2
