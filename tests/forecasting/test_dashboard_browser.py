"""A real Chromium: sign in, read the dashboard, change a filter, download a CSV.

Also saves docs/screenshots/forecast.png for the README.
"""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from forecasting import periods
from forecasting.models import Quota

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD, lost_reason_entry
from tests.forecasting.conftest import history, make_deal

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
    """This month: 12000 at 55 %, 8000 at 75 %, 5000 at 20 % (stalled); won 4000; some history."""
    today = timezone.localdate()
    rep, teammate = people["rep"], people["teammate"]
    close = periods.period_end(periods.period_start(today, "month"), "month").isoformat()
    Quota.objects.create(
        team=rep.teams.get(),
        period="month",
        period_start=periods.period_start(today, "month"),
        amount=Decimal("30000.00"),
    )
    make_deal(rep, "Proposal", amount="12000.00", close=close)
    make_deal(teammate, "Negotiation", amount="8000.00", close=close)
    make_deal(rep, "Qualification", amount="5000.00", close=close, stalled=True)
    # Always in the next quarter (never this month or quarter), whatever day the test runs.
    next_quarter = periods.shift(periods.period_start(today, "quarter"), "quarter", 1)
    make_deal(
        rep, "Contact", amount="7000.00", close=(next_quarter + dt.timedelta(days=15)).isoformat()
    )
    won = make_deal(
        teammate, "Closed", amount="4000.00", won_at=timezone.now(), created=days_ago(today, 40)
    )
    history(
        won,
        ("Prospecting", days_ago(today, 40)),
        ("Qualification", days_ago(today, 33)),
        ("Contact", days_ago(today, 25)),
        ("Proposal", days_ago(today, 12)),
        ("Negotiation", days_ago(today, 5)),
        ("Closed", days_ago(today, 0)),
    )
    for reason, stage, age in (
        ("Price", "Proposal", 30),
        ("Price", "Contact", 20),
        ("Timing", "Qualification", 15),
    ):
        lost = make_deal(
            rep,
            stage,
            amount="3000.00",
            status="lost",
            lost_at=timezone.now(),
            lost_reason=lost_reason_entry(reason),
            created=days_ago(today, age),
        )
        history(lost, ("Prospecting", days_ago(today, age)), (stage, days_ago(today, age - 6)))
    return people


def days_ago(today, days):
    return (today - dt.timedelta(days=days)).isoformat()


def wait_for_every_panel(page):
    """Until every lazily loaded panel has arrived and every chart of this body is drawn: a
    backtest the nightly job has not stored is computed when its button is pressed, the stage
    probabilities load when scrolled to — once the panels above have arrived, so that none of
    them pushes it out of sight again before htmx sees it revealed."""
    page.wait_for_selector("[data-panel=accuracy]:not(.fc-loading)")
    if page.query_selector("[data-panel=accuracy].fc-on-demand"):
        page.click("[data-panel=accuracy] button")
    page.wait_for_function(
        "() => !document.querySelector("
        "'.fc-loading:not([data-panel=probabilities]), .fc-on-demand')"
    )
    # Scrolled by the page itself: the panel may arrive (and replace its placeholder) while
    # Playwright is still scrolling to it, which detaches the element it holds.
    page.evaluate("document.querySelector('[data-panel=probabilities]').scrollIntoView()")
    page.wait_for_function(
        "() => !document.querySelector('.fc-loading') && document.body.dataset.chartsReady === '5'"
    )
    page.evaluate("window.scrollTo(0, 0)")


def assert_lines_drawn_at(page, period, expected):
    """Each line of the forecast chart has its point for `period` where the y axis puts its
    value (within a pixel), not stacked on another line or on the bars."""
    points = page.evaluate(
        """([period, expected]) => {
            const chart = Chart.getChart(document.getElementById("chart-forecast"));
            const index = chart.data.labels.indexOf(period);
            const found = {};
            chart.data.datasets.forEach((dataset, n) => {
                if (!(dataset.label in expected)) return;
                found[dataset.label] = {
                    value: dataset.data[index],
                    y: chart.getDatasetMeta(n).data[index].y,
                    at: chart.scales.y.getPixelForValue(expected[dataset.label]),
                };
            });
            return found;
        }""",
        [period, expected],
    )
    assert set(points) == set(expected)
    for name, value in expected.items():
        assert points[name]["value"] == value, (name, points[name])
        assert abs(points[name]["y"] - points[name]["at"]) <= 1, (name, points[name])


def test_manager_reads_the_dashboard_changes_a_filter_and_downloads_csv(
    live_server, browser_page, pipeline_of_team_a, tmp_path
):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/forecast/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/forecast/")

    # 12000 × 55 % + 8000 × 75 % + 5000 × 20 % = 13,600 this month.
    expect(page.locator("[data-card=weighted] strong")).to_have_text("$13,600")
    expect(page.locator("[data-card=won] strong")).to_have_text("$4,000")
    expect(page.locator("[data-card=gap] strong")).to_have_text("$26,000")
    # Panels load after the page: funnel, time in stage, lost reasons, accuracy, the forecast.
    wait_for_every_panel(page)
    expect(page.locator("[data-table=reps]")).to_contain_text(str(pipeline_of_team_a["rep"]))
    this_month = periods.label(periods.period_start(timezone.localdate(), "month"), "month")
    assert_lines_drawn_at(page, this_month, {"Weighted": 13600, "Quota": 30000})

    page.evaluate("window.__noReload = 1")
    page.select_option("#id_period", "quarter")
    page.wait_for_url("**period=quarter**")
    expect(
        page.locator("[data-table=forecast]").locator("xpath=ancestor::details//summary")
    ).to_contain_text("Forecast by quarter")
    # The body was swapped in place: the page (and this mark on its window) is still there.
    assert page.evaluate("window.__noReload") == 1
    wait_for_every_panel(page)
    this_quarter = periods.label(periods.period_start(timezone.localdate(), "quarter"), "quarter")
    # The quarter has no quota of its own: its months' 30,000.
    assert_lines_drawn_at(page, this_quarter, {"Weighted": 13600, "Quota": 30000})
    expect(page.locator("[data-card=weighted] strong")).to_have_text("$13,600")
    expect(page.locator("[data-table=probabilities]")).to_contain_text("Proposal")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    with page.expect_download() as download_info:
        page.click("a[data-csv=forecast]")
    download = download_info.value
    target = tmp_path / "forecast.csv"
    download.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert text.startswith("Period,Weighted,Commit")
    assert "Q" in text.splitlines()[1]  # quarterly rows, as filtered
    assert "13600.00" in text
