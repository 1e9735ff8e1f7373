"""GET /api/forecast/accuracy/: the backtest of the accuracy panel, scoped like every figure."""

import pytest
from django.urls import reverse

from forecasting.analytics import Scope
from forecasting.analytics.backtest import backtest
from forecasting.serializers import BacktestSerializer
from tests.forecasting.conftest import OCTOBER, SEPTEMBER

pytestmark = pytest.mark.django_db

URL = "/api/forecast/accuracy/"
RANGE = "since=2026-09-01&until=2026-10-31"


def test_accuracy_endpoint_gives_rows_and_summary(api_for, people, backtest_world):
    response = api_for(people["rep"]).get(f"{URL}?{RANGE}")
    assert response.status_code == 200
    body = response.json()
    assert (body["period"], body["currency"]) == ("month", "USD")
    september, october = body["rows"]
    assert (september["period"], september["start"]) == ("2026-09", SEPTEMBER.isoformat())
    assert (september["pipeline_from"], october["pipeline_from"]) == ("history", "snapshot")
    assert (september["configured"], september["won"]) == ("2275.00", "300.00")
    assert (october["configured"], october["won"], october["configured_error"]) == (
        "590.00",
        "1000.00",
        -0.41,
    )
    assert set(october) >= {"learned", "p10", "p50", "p90", "learned_error", "in_band"}
    assert body["summary"]["brier_configured"] == 0.2575
    assert body["summary"]["brier_deals"] == 4


def test_accuracy_endpoint_agrees_with_the_analytics(api_for, people, backtest_world):
    body = api_for(people["rep"]).get(f"{URL}?period=quarter&{RANGE}").json()
    expected = backtest(
        Scope(user=people["rep"], owner=people["rep"]),
        period="quarter",
        since=SEPTEMBER,
        until=OCTOBER,
    )
    assert body == BacktestSerializer(expected.as_dict()).data
    assert [r["period"] for r in body["rows"]] == ["2026-Q3", "2026-Q4"][: len(body["rows"])]


def test_accuracy_endpoint_filters_by_owner(api_for, people, backtest_world):
    manager = api_for(people["manager"])
    rep_only = manager.get(f"{URL}?owner={people['rep'].pk}&{RANGE}").json()
    assert rep_only["rows"][0]["configured"] == "2275.00"
    teammate_only = manager.get(f"{URL}?owner={people['teammate'].pk}&{RANGE}").json()
    assert teammate_only["rows"] == []  # no deal of theirs
    assert teammate_only["summary"]["periods"] == 0


def test_a_viewer_only_backtests_the_deals_they_may_see(api_for, people, backtest_world):
    outsider = api_for(people["outsider"])
    assert outsider.get(f"{URL}?{RANGE}").json()["rows"] == []
    # Another team's rep is not a filter an outsider may choose.
    assert outsider.get(f"{URL}?owner={people['rep'].pk}&{RANGE}").status_code == 400


@pytest.mark.parametrize(
    "query",
    ["period=year", "since=someday", "since=2026-10-01&until=2026-09-01", "currency=EURO"],
)
def test_bad_parameters_are_a_400_with_field_errors(api_for, people, query):
    response = api_for(people["rep"]).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert set(response.json()) & {"period", "since", "until", "currency"}


def test_the_accuracy_panel_and_its_csv_show_the_backtest(client, people, backtest_world):
    client.force_login(people["rep"])
    panel = client.get(reverse("forecast-panel", args=["accuracy"]) + f"?{RANGE}&compute=1")
    html = panel.content.decode()
    assert 'id="chart-accuracy"' in html
    assert 'data-table="accuracy"' in html
    assert "Brier score" in html
    assert "$2,275" in html  # September's configured forecast, formatted
    csv = client.get(reverse("forecast-export", args=["accuracy"]) + f"?{RANGE}")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Period,Pipeline from,Configured,Learned")
    assert lines[1].startswith("2026-09,history,2275.00,")  # raw numbers
    assert "-0.41" in lines[2]
