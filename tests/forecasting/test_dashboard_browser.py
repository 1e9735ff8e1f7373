"""A real Chromium: sign in, read the dashboard, change a filter, download a CSV.

Also saves docs/screenshots/forecast.png for the README.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from forecasting import periods
from forecasting.models import Quota
from tests.browser.conftest import (  # noqa: F401 - the browser fixtures, shared
    SCREENSHOTS,
    chromium,
    open_page,
    seed_data,
)
from tests.factories import lost_reason_entry
from tests.forecasting.conftest import history, make_deal

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


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
    """Until every panel loaded after the page has arrived and every chart of this body is
    drawn: a backtest the nightly job has not stored is computed when its button is pressed."""
    page.wait_for_selector("[data-panel=accuracy]:not(.fc-loading)")
    if page.query_selector("[data-panel=accuracy].fc-on-demand"):
        page.click("[data-panel=accuracy] button")
    page.wait_for_function(
        "() => !document.querySelector('.fc-loading, .fc-on-demand')"
        " && document.body.dataset.chartsReady === '5'"
    )


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
    request, pipeline_of_team_a, tmp_path
):
    manager = pipeline_of_team_a["manager"]
    page = request.getfixturevalue("open_page")(manager, "/forecast/", width=1400, height=900)

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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "forecast.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("a[data-csv=forecast]")
    download = download_info.value
    target = tmp_path / "forecast.csv"
    download.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert text.startswith("Period,Weighted,Commit")
    assert "Q" in text.splitlines()[1]  # quarterly rows, as filtered
    assert "13600.00" in text
