"""The forecast page in Chromium at 1366 px: tables, cards and chart axes read "$98,600" and
"109.6 %" (not "98600.00" or "1.0956"), the stalled and at-risk tables fit their panels with
"Expected close" and "Why" in sight, and the eight headline cards fill two rows of four."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from forecasting import periods
from forecasting.models import Quota
from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.browser


@pytest.fixture
def this_month(people):
    """This month: 98,600 won against a 90,000 quota (109.6 %), and two deals to watch."""
    today = timezone.localdate()
    start = periods.period_start(today, "month")
    rep = people["rep"]
    Quota.objects.create(team=rep.teams.get(), period="month", period_start=start, amount=90000)
    make_deal(rep, "Closed", amount="98600.00", won_at=timezone.now(), close=today.isoformat())
    title = "Renewal of the three-year enterprise licence for the northern warehouses"
    make_deal(rep, "Proposal", amount="12500.00", close="2020-01-01", title=title)
    make_deal(rep, "Qualification", amount="4000.00", close=today.isoformat(), stalled=True)
    return periods.label(start, "month")


def cells(page, table, first_cell):
    return page.locator(f"[data-table={table}] tbody tr", has_text=first_cell).first.locator(
        "th, td"
    )


def test_forecast_numbers_are_formatted_and_the_tables_fit(open_page, people, this_month):
    page = open_page(people["manager"], path="/forecast/", width=1366, height=900)

    month = cells(page, "forecast", this_month)
    expect(month.nth(5)).to_have_text("$98,600")  # Won
    expect(month.nth(6)).to_have_text("$90,000")  # Quota
    expect(month.nth(8)).to_have_text("109.6 %")  # Attainment
    expect(page.locator("[data-card=won] strong")).to_have_text("$98,600")
    expect(page.locator("[data-table=forecast]")).not_to_contain_text("98600.00")

    page.wait_for_function("() => document.body.dataset.chartsReady !== undefined")
    axis, tooltip = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById("chart-forecast"));
            const label = chart.options.plugins.tooltip.callbacks.label;
            return [
                chart.options.scales.y.ticks.callback(98600),
                label({ dataset: { label: "Won" }, raw: 1234.5 }),
            ];
        }"""
    )
    assert (axis, tooltip) == ("$98,600", "Won: $1,234.50")

    # Eight headline cards: two full rows of four.
    tops = page.locator(".fc-card").evaluate_all("cards => cards.map(c => c.offsetTop)")
    assert len(tops) == 8
    assert sorted(tops.count(top) for top in set(tops)) == [4, 4]

    watch = page.locator("[data-panel=watchlist]")
    watch.scroll_into_view_if_needed()
    at_risk = cells(page, "at_risk", "Renewal of the three-year")
    expect(at_risk.nth(3)).to_have_text("$12,500")
    expect(at_risk.nth(4)).to_have_text("55 %")
    assert_watch_tables_fit(page)
    assert page.errors == []


def assert_watch_tables_fit(page):
    """The stalled and at-risk tables are no wider than their panels, "Expected close" and
    "Why" in sight."""
    for table in ("stalled", "at_risk"):
        panel = page.locator(f"[data-table={table}]").locator("xpath=ancestor::section[1]")
        panel.scroll_into_view_if_needed()
        overflow = panel.evaluate(
            "section => section.querySelector('.fc-scroll').scrollWidth"
            " - section.querySelector('.fc-scroll').clientWidth"
        )
        assert overflow <= 0, f"the {table} table is wider than its panel by {overflow}px"
        for header in ("Expected close", "Why"):
            expect(panel.locator("thead th", has_text=header)).to_be_in_viewport()


def test_on_a_phone_the_watch_tables_fit_and_the_cards_sit_two_a_row(open_page, people, this_month):
    page = open_page(people["manager"], path="/forecast/", width=390, height=800)
    tops = page.locator(".fc-card").evaluate_all("cards => cards.map(c => c.offsetTop)")
    assert sorted(tops.count(top) for top in set(tops)) == [2, 2, 2, 2]
    page.locator("[data-panel=watchlist]").scroll_into_view_if_needed()
    expect(cells(page, "at_risk", "Renewal of the three-year").nth(3)).to_have_text("$12,500")
    assert_watch_tables_fit(page)  # owner, stage and probability left out
