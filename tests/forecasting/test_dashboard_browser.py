"""A real Chromium: sign in, read the dashboard, change a filter, download a CSV.

Also saves docs/screenshots/forecast.png for the README.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import expect, sync_playwright

from tests.forecasting.conftest import make_deal

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "forecast.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium"),
]


@pytest.fixture
def browser_page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1400, "height": 900}
        )
        yield context.new_page()
        context.close()
        browser.close()


@pytest.fixture
def pipeline_of_team_a(people):
    from django.utils import timezone

    today = timezone.localdate()
    rep, teammate = people["rep"], people["teammate"]
    close = today.replace(day=28).isoformat()
    make_deal(rep, "Proposal", amount="12000.00", close=close)
    make_deal(teammate, "Negotiation", amount="8000.00", close=close)
    make_deal(rep, "Qualification", amount="5000.00", close=close, stalled=True)
    make_deal(teammate, "Closed", amount="4000.00", won_at=timezone.now())
    make_deal(
        rep, "Contact", amount="3000.00", status="lost", lost_at=timezone.now(), lost_reason="Price"
    )
    return people


def test_manager_reads_the_dashboard_changes_a_filter_and_downloads_csv(
    live_server, browser_page, pipeline_of_team_a, tmp_path
):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/forecast/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/forecast/")

    # 12000 × 55 % + 8000 × 75 % + 5000 × 20 % = 13,600 this month.
    expect(page.locator("[data-card=weighted] strong")).to_have_text("13,600.00 USD")
    expect(page.locator("[data-card=won] strong")).to_have_text("4,000.00 USD")
    page.wait_for_function("document.body.dataset.chartsReady === '5'")

    page.select_option("#id_period", "quarter")
    page.wait_for_url("**period=quarter**")
    expect(
        page.locator("[data-table=forecast]").locator("xpath=ancestor::details//summary")
    ).to_contain_text("Forecast by quarter")
    page.wait_for_function("document.body.dataset.chartsReady === '5'")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    with page.expect_download() as download_info:
        page.click("a[data-csv=forecast]")
    download = download_info.value
    target = tmp_path / "forecast.csv"
    download.save_as(target)
    text = target.read_text()
    assert text.startswith("Period,Weighted,Commit")
    assert "Q" in text.splitlines()[1]  # quarterly rows, as filtered
    assert "13600.00" in text
