"""Two-factor sign-in in a real browser, under the strict CSP: an admin sets it up from My
settings (the QR code shows), sees the recovery codes, then signs in with a code."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.two_factor_helpers import code_now, next_code
from tests.browser.test_csp_browser import collect_csp_violations
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_admin_sets_up_two_factor_and_signs_in_with_a_code(open_page, live_server):
    admin = UserFactory(username="boss", role="admin")
    page = open_page(admin, path="/settings/me/")
    violations = collect_csp_violations(page)

    page.get_by_role("link", name="Set up or manage two-factor sign-in").click()
    qr = page.locator("img.qr-code")
    qr.wait_for()
    assert page.evaluate("() => document.querySelector('img.qr-code').naturalWidth") > 0
    device = TOTPDevice.objects.get(user=admin)
    page.get_by_label("Code").fill(code_now(device))
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    page.locator("#recovery-codes").wait_for()
    assert page.locator("#recovery-codes li").count() == 10

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/accounts/login/?next=/deals/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/accounts/login/code/")
    page.get_by_label("Code").fill(next_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_server.url}/deals/")

    assert violations == []
    assert page.errors == []
