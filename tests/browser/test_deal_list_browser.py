"""The deals list in Chromium: a manager ticks three deals and reassigns them; a delete is
undone from its toast; the filter and the sort live in the URL, and neither undoes the other."""

import pytest

from deals.models import Deal
from tests.factories import DealFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def team(db):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    mate = UserFactory(username="ravi", first_name="Ravi", last_name="Rao", role="rep")
    boss = UserFactory(username="maria", first_name="Maria", last_name="Moreno", role="manager")
    TeamFactory(name="North", members=[rep, mate], managers=[boss])
    return rep, mate, boss


def row(page, deal):
    return page.locator(f'tr[data-deal-id="{deal.pk}"]')


def test_a_manager_selects_three_deals_and_reassigns_them(open_page, screenshot, team):
    rep, mate, boss = team
    deals = [DealFactory(owner=rep, title=f"Account {i}") for i in range(5)]
    page = open_page(boss, "/deals/?sort=title")

    for deal in deals[:3]:
        row(page, deal).locator(".row-pick").check()
    assert page.locator("#selected-count").inner_text() == "3 deals selected"
    page.select_option("#bulk-action", "reassign")
    page.select_option("#bulk-owner", str(mate.pk))
    screenshot(page, "deal-list.png")
    page.click("#bulk-apply")

    page.wait_for_selector(".toast.success")
    assert "3 deals reassigned to Ravi Rao." in page.locator("#toasts").inner_text()
    for deal in deals[:3]:
        owner = row(page, deal).locator(".col-owner")
        assert owner.inner_text().endswith("Ravi Rao")
        assert owner.locator(".avatar").get_attribute("title") == "Ravi Rao"
    owners = dict(Deal.objects.values_list("title", "owner__username"))
    assert owners == {
        "Account 0": "ravi",
        "Account 1": "ravi",
        "Account 2": "ravi",
        "Account 3": "rita",
        "Account 4": "rita",
    }
    assert page.errors == []


def test_a_deleted_deal_comes_back_with_undo(open_page, team):
    rep, _, _ = team
    keep, gone = DealFactory(owner=rep, title="Keep me"), DealFactory(owner=rep, title="Oops")
    page = open_page(rep, "/deals/")

    row(page, gone).locator(".row-pick").check()
    page.select_option("#bulk-action", "delete")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk-apply")
    page.wait_for_selector(".undo-toast")
    assert row(page, gone).count() == 0
    assert not Deal.objects.filter(pk=gone.pk).exists()

    page.click(".undo-toast .undo-button")
    row(page, gone).wait_for()
    assert Deal.objects.filter(pk=gone.pk).exists()
    assert page.locator(".undo-toast").count() == 0
    assert row(page, keep).count() == 1
    assert page.errors == []


def test_select_all_offers_every_deal_the_filter_matches(open_page, team):
    rep, _, _ = team
    for i in range(55):
        DealFactory(owner=rep, title=f"Acme {i:02}")
    DealFactory(owner=rep, title="Globex")
    page = open_page(rep, "/deals/?q=acme")

    page.check("#select-page")
    page.click("#select-all-matching")
    assert page.locator("#selected-count").inner_text() == "55 deals selected"
    assert page.input_value("#bulk-all-matching") == "1"
    assert page.errors == []


def test_sorting_while_a_search_is_still_pending_keeps_the_search_and_the_sort(open_page, team):
    rep, _, _ = team
    for i in range(3):
        DealFactory(owner=rep, title=f"Acme {i}")
    DealFactory(owner=rep, title="Aardvark")
    page = open_page(rep, "/deals/?sort=-title")

    page.fill("#f-q", "acme")  # the search waits 350 ms for more typing ...
    page.click('th a[data-sort="title"]')  # ... and the heading is clicked before it goes
    page.wait_for_function("() => /q=acme.*sort=title/.test(location.search)")
    page.wait_for_load_state("networkidle")
    assert "q=acme" in page.url  # neither request undid the other
    assert "sort=title" in page.url
    titles = page.locator("tbody .col-title a").all_inner_texts()
    assert titles == ["Acme 0", "Acme 1", "Acme 2"]
    assert page.get_attribute("th.col-title", "aria-sort") == "ascending"
    assert page.errors == []


def test_leaving_the_search_box_sends_no_second_request(open_page, team, gets_sent):
    rep, _, _ = team
    DealFactory(owner=rep, title="Acme")
    page = open_page(rep, "/deals/")
    sent = gets_sent(page, "/deals/")

    page.fill("#f-q", "acme")
    page.wait_for_function("() => location.search.includes('q=acme')")
    page.wait_for_load_state("networkidle")
    page.locator("#f-q").blur()  # fires the search box's change event
    page.select_option("#f-status", "won")
    page.wait_for_function("() => location.search.includes('status=won')")
    page.wait_for_load_state("networkidle")
    assert len(sent) == 2, sent  # the search, then the status: none for the blur
    assert "q=acme" in sent[1]
    assert page.errors == []


def test_deleting_from_the_deal_page_asks_then_lands_on_the_list_with_undo(open_page, team):
    rep, _, _ = team
    deal = DealFactory(owner=rep, title="Short-lived")
    page = open_page(rep, f"/deals/{deal.pk}/")

    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click(".deal-delete button")
    page.wait_for_url("**/deals/")
    page.wait_for_selector("#toasts .undo-toast")
    assert "Short-lived" in messages[0]
    assert "“Short-lived” moved to the trash." in page.locator("#toasts").inner_text()
    assert not Deal.objects.filter(pk=deal.pk).exists()

    page.click("#toasts .undo-button")
    row(page, deal).wait_for()
    assert Deal.objects.filter(pk=deal.pk).exists()
    assert page.errors == []


def test_after_back_a_filter_change_keeps_the_sort_the_page_shows(open_page, team):
    rep, _, _ = team
    DealFactory(owner=rep, title="Acme")
    page = open_page(rep, "/deals/?sort=-title")

    page.click('th a[data-sort="title"]')
    page.wait_for_function("() => /sort=title/.test(location.search)")
    page.go_back()
    page.wait_for_function("() => /sort=-title/.test(location.search)")
    page.select_option("#f-status", "won")
    page.wait_for_function("() => location.search.includes('status=won')")
    assert "sort=-title" in page.url
    assert page.errors == []
