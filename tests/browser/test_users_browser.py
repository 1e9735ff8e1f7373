"""The user and team settings in a real browser: the invite dialog, deactivating with a hand-over,
a new team — the htmx dialogs and the list refreshing after each change.

Also saves docs/screenshots/users.png for the README.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from deals.models import Deal
from tests.factories import DealFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_admin_invites_deactivates_and_makes_a_team_in_the_browser(open_page, screenshot):
    admin = UserFactory(username="boss", first_name="Ada", last_name="Boss", role="admin")
    leaving = UserFactory(username="leaving", first_name="Leo", last_name="Leaving", role="rep")
    staying = UserFactory(username="staying", first_name="Stan", last_name="Staying", role="rep")
    team = TeamFactory(name="North", members=[leaving, staying])
    deal = DealFactory(owner=leaving, title="Big renewal")

    page = open_page(admin, "/settings/users/")
    page.get_by_role("button", name="+ Invite a user").click()
    dialog = page.locator("#app-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("First name").fill("Nina")
    dialog.get_by_label("E-mail").fill("nina@example.com")
    dialog.get_by_label("North").check()
    dialog.get_by_role("button", name="Send invitation").click()
    expect(dialog).to_be_hidden()
    invited_row = page.locator("#user-table tr", has_text="nina@example.com")
    expect(invited_row).to_contain_text("invited")
    expect(invited_row).to_contain_text("North")

    page.get_by_role("button", name="Deactivate Leo Leaving").click()
    expect(dialog).to_contain_text("1 open deal")
    dialog.get_by_label("Hand their open work to").select_option(str(staying.pk))
    dialog.get_by_role("button", name="Deactivate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#user-{leaving.pk}")).to_contain_text("deactivated")
    assert not User.objects.get(pk=leaving.pk).is_active
    assert Deal.objects.get(pk=deal.pk).owner_id == staying.pk

    page.locator("#user-filters select[name=status]").select_option("invited")
    expect(page.locator("#user-table tbody tr")).to_have_count(1)
    screenshot(page, "users.png")

    page.get_by_role("link", name="Teams").click()
    page.get_by_role("button", name="+ New team").click()
    dialog.get_by_label("Name").fill("South")
    dialog.locator("fieldset, .check-list").first.get_by_label("Ada Boss (boss)").check()
    dialog.get_by_role("button", name="Create team").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#team-list")).to_contain_text("South")
    assert team.pk
    assert page.errors == []
