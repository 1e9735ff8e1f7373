"""The audit log page in a real browser, under the CSP: an admin sees their own sign-in and a
failed one, and narrows the list to the failures with the action filter (htmx swaps the table).
Saves docs/screenshots/audit.png."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts import services
from tests.browser.conftest import (  # noqa: F401 - the browser fixtures, shared
    chromium,
    open_page,
    screenshot,
    seed_data,
)
from tests.browser.test_csp_browser import collect_csp_violations
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_admin_reads_and_filters_the_audit_log(request):
    admin = UserFactory(username="boss", first_name="Ada", last_name="Boss", role="admin")
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    Client(REMOTE_ADDR="198.51.100.7").post(
        "/accounts/login/", {"username": "rita", "password": "not-her-password"}
    )
    services.update_user(user=rita, by=admin, changes={"role": "manager"})
    page = request.getfixturevalue("open_page")(admin, "/settings/audit/")
    violations = collect_csp_violations(page)
    page.reload()

    rows = page.locator("#audit-entries tbody tr")
    expect(rows).to_have_count(3)  # newest first: the admin's sign-in, the role change, the failure
    expect(rows.first).to_contain_text("Signed in")
    expect(rows.nth(1)).to_contain_text("from: rep · to: manager")
    expect(rows.last).to_contain_text("198.51.100.7")

    page.locator("#audit-filters select[name=action]").select_option("login_failed")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sign-in failed")
    assert "action=login_failed" in page.url
    assert "action=login_failed" in page.locator("a.export-csv").get_attribute("href")
    request.getfixturevalue("screenshot")(page, "audit.png")

    assert violations == []
    assert page.errors == []
