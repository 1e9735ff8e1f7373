"""The /forecast/ page, its htmx updates, CSV exports and the movement fragment."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forecasting import periods
from forecasting.models import Quota
from tests.factories import (
    DealFactory,
    PipelineFactory,
    StageFactory,
    default_pipeline,
    lost_reason_entry,
)
from tests.forecasting.conftest import TODAY, at, closed_deals_through, history, make_deal

pytestmark = pytest.mark.django_db

# The default monthly window around the fixtures' TODAY, as URL filters: what the page shows
# on 15 November 2026, whatever the real date.
AROUND_TODAY = "since={}&until={}".format(*periods.default_window(TODAY, "month"))


def table_rows(html, name):
    """The cells of each body row of the page's table `name`, as the user reads them."""
    table = re.search(rf'<table data-table="{name}">.*?</table>', html, re.S)
    assert table, f"no {name} table on the page"
    body = table.group(0).split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_dashboard_shows_headline_cards_the_forecast_chart_and_its_table(
    client, manager, forecast_world
):
    client.force_login(manager)
    response = client.get(reverse("forecast"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Weighted forecast", "Commit", "Won so far", "Gap to quota", "Win rate"):
        assert text in html
    assert 'id="chart-forecast"' in html
    assert 'data-table="forecast"' in html
    assert reverse("forecast-export", args=["forecast"]) in html
    assert "static/vendor/chart.umd.min.js" in html
    # The history panels load by themselves, with the same filters; the watchlist and the
    # stage probabilities come with the page.
    for name in ("funnel", "accuracy", "reps"):
        assert f'hx-get="{reverse("forecast-panel", args=[name])}"' in html
    for table in ("stalled", "at_risk", "probabilities"):
        assert f'data-table="{table}"' in html
        assert reverse("forecast-export", args=[table]) in html


PANEL_CONTENT = {
    "funnel": (
        ["chart-funnel", "chart-time", "chart-lost"],
        ["funnel", "time_in_stage", "lost_reasons", "lost_by_stage"],
    ),
    "accuracy": (["chart-accuracy"], ["accuracy"]),
    "reps": ([], ["reps"]),
}


@pytest.mark.parametrize("name", list(PANEL_CONTENT))
def test_every_panel_has_its_charts_and_a_downloadable_table(client, manager, forecast_world, name):
    client.force_login(manager)
    response = client.get(reverse("forecast-panel", args=[name]) + "?period=quarter")
    assert response.status_code == 200
    html = response.content.decode()
    canvases, table_names = PANEL_CONTENT[name]
    for canvas in canvases:
        assert f'id="{canvas}"' in html
    for table in table_names:
        assert f'data-table="{table}"' in html
        assert reverse("forecast-export", args=[table]) + "?period=quarter" in html


def test_the_funnel_panel_shows_where_deals_are_lost_per_stage_and_reason(
    client, manager, funnel_world
):
    client.force_login(manager)
    url = reverse("forecast-panel", args=["funnel"]) + "?since=2026-10-01&until=2026-11-30"
    html = client.get(url).content.decode()
    assert table_rows(html, "lost_by_stage") == [
        ["Qualification", "No budget", "1", "100.0 %"],
        ["Proposal", "Price", "1", "100.0 %"],
    ]


def test_unknown_panel_is_404(client, manager):
    client.force_login(manager)
    assert client.get("/forecast/panel/nope/").status_code == 404


def test_chart_data_is_escaped_json(client, manager, people):
    make_deal(
        people["rep"],
        "Proposal",
        status="lost",
        lost_reason=lost_reason_entry("</script><script>alert(1)</script>"),
        lost_at=dt.datetime.now(dt.UTC),
    )
    client.force_login(manager)
    html = client.get(reverse("forecast-panel", args=["funnel"])).content.decode()
    assert "<script>alert(1)" not in html
    assert "\\u003C/script\\u003E" in html


def card(html, key):
    """The value a headline card shows."""
    found = re.search(rf'data-card="{key}">.*?<strong>(.*?)</strong>', html, re.S)
    assert found, f"no {key} card"
    return found.group(1)


def test_headline_cards_cover_every_pipeline_and_the_funnel_names_its_own(client, manager, people):
    rep = people["rep"]
    make_deal(rep, "Closed", amount="1000.00", created="2026-11-01", won_at=at("2026-11-11", 0))
    make_deal(rep, "Proposal", status="lost", lost_at=at("2026-11-12"), created="2026-11-01")
    renewals = PipelineFactory(name="Renewals")
    StageFactory(pipeline=renewals, name="Talks", order=1, probability=50)
    renewed = DealFactory(
        owner=rep,
        pipeline=renewals,
        stage=StageFactory(pipeline=renewals, name="Renewed", order=2, kind="won"),
        status="won",
        amount=Decimal("4000.00"),
        won_at=at("2026-11-11", 0),
    )
    renewed.__class__.objects.filter(pk=renewed.pk).update(created_at=at("2026-10-22", 0))
    client.force_login(manager)
    dates = "since=2026-10-01&until=2026-11-30"

    every = client.get(reverse("forecast") + f"?{dates}").content.decode()
    assert card(every, "win_rate") == "66.7 %"  # 2 won of 3 closed
    assert card(every, "deal_size") == "$2,500"  # (1000 + 4000) / 2
    assert card(every, "cycle") == "15 days"  # (10 + 20) / 2
    assert "win rate, deal size and cycle: all pipelines" in every
    default = client.get(reverse("forecast") + f"?pipeline={default_pipeline().pk}&{dates}")
    default_html = default.content.decode()
    assert card(default_html, "win_rate") == "50.0 %"
    assert card(default_html, "deal_size") == "$1,000"
    assert card(default_html, "cycle") == "10 days"

    # The funnel needs one stage list: the default pipeline unless one is chosen, and says so.
    funnel = client.get(reverse("forecast-panel", args=["funnel"]) + f"?{dates}").content.decode()
    assert 'Funnel <span class="muted">· Sales (default pipeline), ' in funnel
    chosen = client.get(
        reverse("forecast-panel", args=["funnel"]) + f"?pipeline={renewals.pk}&{dates}"
    ).content.decode()
    assert 'Funnel <span class="muted">· Renewals, ' in chosen
    assert "(default pipeline)" not in chosen
    assert [row[0] for row in table_rows(chosen, "funnel")] == ["Talks", "Renewed"]


def forecast_row(client, query, period):
    """The forecast table's row for `period` on the page, and the API's figures for it."""
    page = client.get(reverse("forecast") + f"?{query}").content.decode()
    row = next(r for r in table_rows(page, "forecast") if r[0] == period)
    api = client.get(f"/api/forecast/?{query}").json()
    return row, next(p for p in api["periods"] if p["period"] == period)


def test_learned_probabilities_change_the_forecast_on_the_page_and_in_the_api(client, people):
    rep = people["rep"]
    closed_deals_through(rep, "Proposal", won=12, lost=18)  # 30 closed behind Proposal
    # Due this month: the learned forecast moves overdue deals to the current period.
    month = periods.period_start(timezone.localdate(), "month")
    due = periods.period_end(month, "month").isoformat()
    make_deal(rep, "Proposal", amount="1000.00", close=due)
    make_deal(rep, "Negotiation", amount="2000.00", close=due)  # no learned figure
    client.force_login(people["manager"])
    window = f"since={month.isoformat()}&until={due}"
    label = periods.label(month, "month")

    row, api = forecast_row(client, window, label)
    # Configured: 1000 × 55 % + 2000 × 75 %
    assert (row[1], api["weighted"]) == ("$2,050", "2050.00")
    row, api = forecast_row(client, f"probabilities=learned&{window}", label)
    # Learned for Proposal: 12 won / 30 closed = 40 %: 1000 × 40 % + 2000 × 75 %
    assert (row[1], api["weighted"]) == ("$1,900", "1900.00")


def test_the_team_filter_shows_exactly_that_teams_deals(client, people, forecast_world):
    client.force_login(people["admin"])
    team_a, team_b = people["rep"].teams.get(), people["outsider"].teams.get()
    columns = (1, 9)  # weighted, open deals

    row, api = forecast_row(client, AROUND_TODAY, "2026-11")
    assert [row[i] for i in columns] == ["$9,549.25", "3"]  # d1, d2 and team B's d8
    row, api = forecast_row(client, f"team={team_a.pk}&{AROUND_TODAY}", "2026-11")
    assert [row[i] for i in columns] == ["$2,050", "2"]  # d1 1000 × 55 % + d2 2000 × 75 %
    assert (api["weighted"], api["deals"], api["won"]) == ("2050.00", 2, "1200.00")
    row, api = forecast_row(client, f"team={team_b.pk}&{AROUND_TODAY}", "2026-11")
    assert [row[i] for i in columns] == ["$7,499.25", "1"]  # d8 9999 × 75 %
    assert (api["weighted"], api["deals"], api["won"]) == ("7499.25", 1, "0.00")


def test_htmx_filter_change_returns_only_the_dashboard_body(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(reverse("forecast") + "?period=quarter", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="forecast-body"')
    assert "<html" not in html
    assert "Forecast by quarter" in html


def test_filters_in_the_url_carry_into_the_csv_links(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(reverse("forecast") + "?period=quarter&currency=EUR")
    assert (
        "/forecast/export/forecast.csv?period=quarter&amp;currency=EUR" in response.content.decode()
    )


def test_forecast_csv_keeps_raw_figures_the_page_formats_the_same_ones(
    client, manager, forecast_world
):
    client.force_login(manager)
    response = client.get(reverse("forecast-export", args=["forecast"]) + f"?{AROUND_TODAY}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["Period", "Weighted", "Commit", "Best case", "Pipeline", "Won"]
    csv_rows = {row[0]: row for row in rows[1:]}
    # Raw in the CSV: no currency, no grouping, attainment a share, blanks for none.
    assert csv_rows["2026-11"] == [
        "2026-11",
        *("2050.00", "2000.00", "1000.00", "0.00", "1200.00", "5000.00", "3800.00"),
        *("0.24", "2", "1"),
    ]
    assert csv_rows["2026-12"][6:9] == ["", "", ""]
    assert csv_rows["No close date"][1] == "66.67"
    page = client.get(reverse("forecast") + f"?{AROUND_TODAY}").content.decode()
    page_rows = {row[0]: row for row in table_rows(page, "forecast")}
    assert list(page_rows) == list(csv_rows)
    # Formatted on the page: the same figures with currency, grouping, percent, "—".
    assert page_rows["2026-11"] == [
        "2026-11",
        *("$2,050", "$2,000", "$1,000", "$0", "$1,200", "$5,000", "$3,800"),
        *("24.0 %", "2", "1"),
    ]
    assert page_rows["2026-12"][6:9] == ["—", "—", "—"]
    assert page_rows["No close date"][1] == "$66.67"


@pytest.mark.parametrize(
    "table",
    [
        "forecast",
        "funnel",
        "time_in_stage",
        "lost_reasons",
        "lost_by_stage",
        "accuracy",
        "reps",
        "stalled",
        "at_risk",
        "probabilities",
        "movement",
        "as_of",
    ],
)
def test_every_table_downloads_as_csv(client, manager, forecast_world, table):
    client.force_login(manager)
    response = client.get(reverse("forecast-export", args=[table]))
    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))) >= 1


def test_unknown_table_is_404_and_bad_filters_are_400_not_500(client, manager):
    client.force_login(manager)
    assert client.get("/forecast/export/nope.csv").status_code == 404
    bad = client.get(reverse("forecast-export", args=["forecast"]) + "?since=yesterday")
    assert bad.status_code == 400
    page = client.get(reverse("forecast") + "?since=2026-12-01&until=2026-01-01&team=999999")
    assert page.status_code == 200
    assert "showing the defaults instead" in page.content.decode()


def test_dashboard_needs_a_login(client):
    response = client.get(reverse("forecast"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_stalled_and_at_risk_deals_link_to_the_deal(client, manager, people):
    stalled = make_deal(people["rep"], "Proposal", close="2027-01-10", stalled=True)
    overdue = make_deal(people["teammate"], "Contact", close="2020-01-01")
    client.force_login(manager)
    html = client.get(reverse("forecast")).content.decode()
    assert f'href="/deals/{stalled.pk}/"' in html
    assert f'href="/deals/{overdue.pk}/"' in html
    assert "close date passed" in html


def more_deals(people, count=40):
    for i in range(count):
        owner = people["rep"] if i % 2 else people["teammate"]
        deal = make_deal(
            owner,
            ["Prospecting", "Proposal", "Negotiation"][i % 3],
            close="2026-12-01",
            stalled=i % 5 == 0,
            created="2026-10-01",
        )
        history(deal, ("Prospecting", "2026-10-01"), ("Proposal", "2026-10-05"))


@pytest.mark.parametrize(
    "url",
    [
        "/forecast/",
        "/forecast/?probabilities=learned",
        *(f"/forecast/panel/{n}/" for n in PANEL_CONTENT),
        "/forecast/movement/?since=2026-01-01",
        "/api/analytics/funnel/",
    ],
)
def test_query_count_does_not_grow_with_deals(
    client, manager, people, django_assert_max_num_queries, url
):
    client.force_login(manager)
    more_deals(people, count=2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    more_deals(people, count=40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_movement_fragment_loads_on_demand(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(reverse("forecast-movement") + "?since=2026-01-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-table="movement"' in html
    assert 'data-table="as_of"' in html


def test_a_reps_dashboard_starts_on_their_own_deals(client, people, forecast_world):
    rep = people["rep"]
    client.force_login(rep)
    own = client.get(reverse("forecast-export", args=["forecast"]) + f"?{AROUND_TODAY}")
    team = client.get(reverse("forecast-export", args=["forecast"]) + f"?owner=&{AROUND_TODAY}")
    own_nov = next(
        r for r in csv.reader(io.StringIO(own.content.decode("utf-8-sig"))) if r[0] == "2026-11"
    )
    team_nov = next(r for r in csv.reader(io.StringIO(team.content.decode())) if r[0] == "2026-11")
    assert own_nov[1] == "550.00"  # d1 only
    assert team_nov[1] == "2050.00"  # with the teammate's d2
    page = client.get(reverse("forecast")).content.decode()
    assert f'<option value="{rep.pk}" selected>' in page


def test_quota_page_lets_a_manager_set_and_delete_a_quota(client, manager, people):
    client.force_login(manager)
    assert client.get(reverse("forecast-quotas")).status_code == 200
    response = client.post(
        reverse("forecast-quotas"),
        {
            "user": people["rep"].pk,
            "period": "month",
            "period_start": "2026-12-01",
            "amount": "4500.00",
        },
    )
    assert response.status_code == 302
    quota = Quota.objects.get()
    assert (quota.user, quota.amount) == (people["rep"], Decimal("4500.00"))
    listing = client.get(reverse("forecast-quotas")).content.decode()
    assert table_rows(listing, "quotas")[0][:5] == [
        str(people["rep"]),
        "",
        "Month",
        "2026-12-01",
        "$4,500",
    ]
    client.post(reverse("forecast-quota-delete", args=[quota.pk]))
    assert not Quota.objects.exists()


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_admin_and_manager_set_a_team_quota_and_a_quarterly_quota_on_the_page(client, people, who):
    client.force_login(people[who])
    team_a = people["rep"].teams.get()
    team_quota = {"team": team_a.pk, "period": "month", "period_start": "2026-12-01"}
    rep_quarter = {"user": people["rep"].pk, "period": "quarter", "period_start": "2027-01-01"}
    for fields in ({**team_quota, "amount": "6000"}, {**rep_quarter, "amount": "9000"}):
        response = client.post(reverse("forecast-quotas"), fields)
        assert response.status_code == 302, response.content.decode()
    assert set(Quota.objects.values_list("team", "user", "period", "amount")) == {
        (team_a.pk, None, "month", Decimal("6000.00")),
        (None, people["rep"].pk, "quarter", Decimal("9000.00")),
    }
    listing = client.get(reverse("forecast-quotas")).content.decode()
    # A team's quota under "Team", by the team's own name (no "Team Team A").
    assert [row[:5] for row in table_rows(listing, "quotas")] == [
        [str(people["rep"]), "", "Quarter", "2027-01-01", "$9,000"],
        ["", "Team A", "Month", "2026-12-01", "$6,000"],
    ]
    assert "Team Team A" not in listing
    # And the team's forecast table shows the quarter's quota.
    page = client.get(
        reverse("forecast") + f"?team={team_a.pk}&period=quarter&since=2027-01-01&until=2027-03-31"
    ).content.decode()
    assert table_rows(page, "forecast")[0][:7] == [
        "2027-Q1",
        *("$0", "$0", "$0", "$0", "$0"),
        "$9,000",
    ]


def test_quota_page_refuses_bad_input_and_other_teams(client, manager, people):
    client.force_login(manager)
    bad_day = client.post(
        reverse("forecast-quotas"),
        {"user": people["rep"].pk, "period": "month", "period_start": "2026-12-05", "amount": "1"},
    )
    assert bad_day.status_code == 400
    assert "first day of the month" in bad_day.content.decode()
    outsider = client.post(
        reverse("forecast-quotas"),
        {
            "user": people["outsider"].pk,
            "period": "month",
            "period_start": "2026-12-01",
            "amount": "1",
        },
    )
    assert outsider.status_code == 400  # not a choice for this manager
    assert not Quota.objects.exists()


def test_reps_cannot_open_the_quota_page(client, rep):
    client.force_login(rep)
    assert client.get(reverse("forecast-quotas")).status_code == 403


def test_the_history_panels_load_right_after_the_page_and_the_cheap_tables_come_with_it(
    client, manager
):
    client.force_login(manager)
    html = client.get(reverse("forecast")).content.decode()
    panels = dict(re.findall(r'data-panel="(\w+)"\s+hx-get="[^"]+"\s+hx-trigger="(\w+)"', html))
    assert panels == {"funnel": "load", "accuracy": "load", "reps": "load"}
    assert 'data-panel="watchlist"' in html
    assert 'data-panel="probabilities"' in html
    assert "/forecast/panel/watchlist/" not in html
    assert client.get("/forecast/panel/probabilities/").status_code == 404
