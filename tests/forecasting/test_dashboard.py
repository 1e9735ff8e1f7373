"""The /forecast/ page, its htmx updates, CSV exports and the movement fragment."""

import csv
import io

import pytest
from django.urls import reverse

from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.django_db


def test_dashboard_shows_headline_cards_charts_and_tables(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(reverse("forecast"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Weighted forecast", "Commit", "Won so far", "Gap to quota", "Win rate"):
        assert text in html
    for canvas in ("chart-forecast", "chart-funnel", "chart-time", "chart-lost", "chart-accuracy"):
        assert f'id="{canvas}"' in html
    for table in ("forecast", "funnel", "time_in_stage", "lost_reasons", "accuracy", "reps"):
        assert f'data-table="{table}"' in html
        assert reverse("forecast-export", args=[table]) in html
    assert 'id="forecast-charts"' in html
    assert "static/vendor/chart.umd.min.js" in html


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


def test_forecast_csv_has_the_same_figures_as_the_page(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(reverse("forecast-export", args=["forecast"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["Period", "Weighted", "Commit", "Best case", "Pipeline", "Won"]
    november = next(r for r in rows if r[0] == "2026-11")
    assert november[:7] == [
        "2026-11",
        "2050.00",
        "2000.00",
        "1000.00",
        "0.00",
        "1200.00",
        "5000.00",
    ]


@pytest.mark.parametrize(
    "table",
    [
        "forecast",
        "funnel",
        "time_in_stage",
        "lost_reasons",
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
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) >= 1


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


def test_dashboard_query_count_does_not_grow_with_deals(
    client, manager, people, django_assert_max_num_queries
):
    client.force_login(manager)
    make_deal(people["rep"], "Proposal", close="2026-12-01")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("forecast")).status_code == 200
    for i in range(40):
        owner = people["rep"] if i % 2 else people["teammate"]
        make_deal(
            owner,
            ["Prospecting", "Proposal", "Negotiation"][i % 3],
            close="2026-12-01",
            stalled=i % 5 == 0,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("forecast")).status_code == 200


def test_movement_fragment_loads_on_demand(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(reverse("forecast-movement") + "?since=2026-01-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-table="movement"' in html
    assert 'data-table="as_of"' in html
