"""Merging two contacts from the Duplicates page in a real browser (Playwright, Chromium)."""

import os

import pytest
from django.db import connections

from contacts.models import Contact
from deals.models import Deal
from tests.factories import PASSWORD, ContactFactory, DealFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture
def seller(db):
    user = UserFactory(username="merger", role="rep", first_name="Mer", last_name="Ger")
    TeamFactory(name="Mergers", members=[user])
    return user


@pytest.fixture
def page(live_server, seller):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        tab.set_default_timeout(10_000)
        tab.goto(f"{live_server.url}/accounts/login/")
        tab.fill("input[name=username]", "merger")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_load_state()
        yield tab
        browser.close()
        connections.close_all()


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
