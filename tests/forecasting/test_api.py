"""GET /api/forecast/, GET /api/analytics/funnel/ and /api/quotas/."""

import datetime as dt
from decimal import Decimal

import pytest

from forecasting import analytics, periods
from forecasting.analytics import Scope
from forecasting.models import Quota
from tests.forecasting.conftest import TODAY

pytestmark = pytest.mark.django_db

# The default monthly window around the fixtures' TODAY, as URL filters: the figures of
# 15 November 2026, whatever the real date.
AROUND_TODAY = "since={}&until={}".format(*periods.default_window(TODAY, "month"))


def test_forecast_endpoint_answers_the_documented_shape(api_for, manager, forecast_world):
    response = api_for(manager).get("/api/forecast/?period=quarter")
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "quarter"
    assert set(body["periods"][0]) >= {
        "period",
        "weighted",
        "commit",
        "best_case",
        "pipeline",
        "won",
        "quota",
        "deals",
    }
    assert set(body["totals"]) >= {"weighted", "commit", "best_case", "pipeline", "won", "quota"}
    assert all(isinstance(p["weighted"], str) for p in body["periods"])


def test_forecast_endpoint_matches_the_dashboard_figures(api_for, client, manager, forecast_world):
    body = api_for(manager).get(f"/api/forecast/?{AROUND_TODAY}").json()
    expected = analytics.forecast(Scope(user=manager), today=TODAY).as_dict()
    assert body == expected
    assert body["totals"]["weighted"] == "2450.00"  # the fixtures are in view


def test_forecast_endpoint_filters_by_owner_and_team(api_for, manager, people, forecast_world):
    only_rep = (
        api_for(manager).get(f"/api/forecast/?owner={people['rep'].pk}&{AROUND_TODAY}").json()
    )
    assert only_rep["totals"]["weighted"] == str(
        analytics.money(
            analytics.forecast(
                Scope(user=manager, owner=people["rep"]), today=TODAY
            ).totals.weighted
        )
    )
    assert only_rep["totals"]["weighted"] == "950.00"  # d1 550 + d3 400 + d4 (no amount) 0
    assert only_rep["totals"]["won"] == "0.00"  # the won deal is the teammate's


def test_forecast_endpoint_refuses_bad_filters_with_400(api_for, manager, people):
    client = api_for(manager)
    assert client.get("/api/forecast/?period=week").status_code == 400
    assert client.get("/api/forecast/?probabilities=magic").status_code == 400
    assert client.get("/api/forecast/?since=not-a-date").status_code == 400
    # A team the manager does not manage is not a choice: 400, never someone else's numbers.
    other_team = people["outsider"].teams.get()
    response = client.get(f"/api/forecast/?team={other_team.pk}")
    assert response.status_code == 400
    assert "team" in response.json()


def test_forecast_endpoint_needs_authentication(api_for):
    assert api_for(None).get("/api/forecast/").status_code == 401
    assert api_for(None).get("/api/analytics/funnel/").status_code == 401


def test_funnel_endpoint_answers_the_documented_shape(api_for, rep, funnel_world):
    response = api_for(rep).get("/api/analytics/funnel/?since=2026-10-01&until=2026-11-30")
    assert response.status_code == 200
    body = response.json()
    assert body["win_rate"] == 0.5
    assert body["average_deal_size"] == "2000.00"
    assert body["cycle_days"] == 24.5
    assert body["velocity"] == "40.82"
    assert body["lost_reasons"] == [
        {"reason": "No budget", "count": 1},
        {"reason": "Price", "count": 1},
    ]
    stage_ids = {s["name"]: s["stage"] for s in body["stages"]}
    assert body["lost_by_stage"] == [
        {
            "stage": stage_ids["Qualification"],
            "stage_name": "Qualification",
            "reason": "No budget",
            "count": 1,
        },
        {"stage": stage_ids["Proposal"], "stage_name": "Proposal", "reason": "Price", "count": 1},
    ]
    qualification = body["stages"][1]
    assert qualification["name"] == "Qualification"
    assert (qualification["entered"], qualification["advanced"]) == (4, 3)
    assert qualification["conversion"] == 0.75
    assert (qualification["median_days"], qualification["p90_days"]) == (5.5, 8.8)


def test_schema_documents_the_forecast_endpoints(api_for, admin_user):
    response = api_for(admin_user).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/forecast/" in paths
    assert "/api/analytics/funnel/" in paths
    assert "/api/quotas/" in paths
    parameters = {p["name"] for p in paths["/api/forecast/"]["get"]["parameters"]}
    assert {"pipeline", "period", "owner", "team", "probabilities"} <= parameters


# --- quotas -----------------------------------------------------------------------------------


def test_manager_sets_a_quota_for_a_rep_of_their_team(api_for, manager, people):
    response = api_for(manager).post(
        "/api/quotas/",
        {
            "user": people["rep"].pk,
            "period": "month",
            "period_start": "2026-12-01",
            "amount": "7000.00",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "7000.00"
    quota = Quota.objects.get(user=people["rep"])
    assert quota.amount == Decimal("7000.00")


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_admin_and_manager_set_a_team_quota_and_a_quarterly_quota(api_for, people, who):
    client = api_for(people[who])
    team_a = people["rep"].teams.get()
    team = client.post(
        "/api/quotas/",
        {"team": team_a.pk, "period": "month", "period_start": "2026-12-01", "amount": "6000"},
    )
    assert team.status_code == 201, team.json()
    assert (team.json()["team"], team.json()["user"], team.json()["amount"]) == (
        team_a.pk,
        None,
        "6000.00",
    )
    rep_quarter = {"user": people["rep"].pk, "period": "quarter", "period_start": "2027-01-01"}
    quarter = client.post("/api/quotas/", {**rep_quarter, "amount": "9000"})
    assert quarter.status_code == 201, quarter.json()
    assert (quarter.json()["period"], quarter.json()["period_start"]) == ("quarter", "2027-01-01")
    # The team's forecast shows both: Q4 the team's December, Q1 (no team quota) the rep's.
    body = client.get(
        f"/api/forecast/?team={team_a.pk}&period=quarter&since=2026-10-01&until=2027-03-31"
    ).json()
    assert [(p["period"], p["quota"]) for p in body["periods"]] == [
        ("2026-Q4", "6000.00"),
        ("2027-Q1", "9000.00"),
    ]


def test_setting_the_same_quota_again_replaces_it(api_for, manager, people):
    client = api_for(manager)
    payload = {"user": people["rep"].pk, "period": "month", "period_start": "2026-12-01"}
    client.post("/api/quotas/", {**payload, "amount": "1000"})
    client.post("/api/quotas/", {**payload, "amount": "2000"})
    assert list(Quota.objects.values_list("amount", flat=True)) == [Decimal("2000.00")]


def test_manager_cannot_set_quotas_outside_their_teams(api_for, manager, people):
    client = api_for(manager)
    outsider = client.post(
        "/api/quotas/",
        {
            "user": people["outsider"].pk,
            "period": "month",
            "period_start": "2026-12-01",
            "amount": "1",
        },
    )
    assert outsider.status_code == 403
    team_b = people["outsider"].teams.get()
    team = client.post(
        "/api/quotas/",
        {"team": team_b.pk, "period": "quarter", "period_start": "2026-10-01", "amount": "1"},
    )
    assert team.status_code == 403
    assert not Quota.objects.exists()


def test_reps_cannot_set_quotas(api_for, rep, people):
    response = api_for(rep).post(
        "/api/quotas/",
        {"user": rep.pk, "period": "month", "period_start": "2026-12-01", "amount": "1"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "payload",
    [
        {"period": "month", "period_start": "2026-12-02", "amount": "5"},  # not a first day
        {"period": "quarter", "period_start": "2026-11-01", "amount": "5"},  # not a quarter start
        {"period": "month", "period_start": "2026-12-01", "amount": "-5"},
        {"period": "year", "period_start": "2026-01-01", "amount": "5"},
    ],
)
def test_bad_quota_input_is_a_400(api_for, admin_user, people, payload):
    response = api_for(admin_user).post("/api/quotas/", {"user": people["rep"].pk, **payload})
    assert response.status_code == 400


def test_quota_needs_exactly_one_of_rep_and_team(api_for, admin_user, people):
    team_a = people["rep"].teams.get()
    both = api_for(admin_user).post(
        "/api/quotas/",
        {
            "user": people["rep"].pk,
            "team": team_a.pk,
            "period": "month",
            "period_start": "2026-12-01",
            "amount": "5",
        },
    )
    assert both.status_code == 400
    neither = api_for(admin_user).post(
        "/api/quotas/", {"period": "month", "period_start": "2026-12-01", "amount": "5"}
    )
    assert neither.status_code == 400


def test_quota_list_is_limited_to_what_the_manager_manages(api_for, manager, other_manager, people):
    mine = Quota.objects.create(
        user=people["rep"], period="month", period_start=dt.date(2026, 12, 1), amount=1
    )
    theirs = Quota.objects.create(
        user=people["outsider"], period="month", period_start=dt.date(2026, 12, 1), amount=2
    )
    ids = [q["id"] for q in api_for(manager).get("/api/quotas/").json()["results"]]
    assert ids == [mine.pk]
    assert api_for(manager).get(f"/api/quotas/{theirs.pk}/").status_code == 404
    assert api_for(manager).patch(f"/api/quotas/{theirs.pk}/", {"amount": "9"}).status_code == 404
    assert api_for(other_manager).delete(f"/api/quotas/{theirs.pk}/").status_code == 204


def test_manager_changes_a_quota_amount(api_for, manager, people):
    quota = Quota.objects.create(
        user=people["rep"], period="month", period_start=dt.date(2026, 12, 1), amount=1
    )
    response = api_for(manager).patch(f"/api/quotas/{quota.pk}/", {"amount": "1234.50"})
    assert response.status_code == 200
    quota.refresh_from_db()
    assert quota.amount == Decimal("1234.50")


def test_quota_shows_up_in_the_forecast_for_that_rep(api_for, manager, people):
    Quota.objects.create(
        user=people["rep"], period="month", period_start=dt.date(2026, 12, 1), amount=Decimal("900")
    )
    body = (
        api_for(manager)
        .get(f"/api/forecast/?owner={people['rep'].pk}&since=2026-12-01&until=2026-12-31")
        .json()
    )
    assert body["periods"] == [
        {
            "period": "2026-12",
            "weighted": "0.00",
            "commit": "0.00",
            "best_case": "0.00",
            "pipeline": "0.00",
            "won": "0.00",
            "quota": "900.00",
            "gap": "900.00",
            "attainment": 0.0,
            "deals": 0,
            "won_deals": 0,
        }
    ]


@pytest.mark.parametrize(
    "query",
    [
        "pipeline=abc",
        "team=-1",
        "owner=99999999999999999999999",
        "currency=12345",
        "since=2026-02-30",
        "since=2020-01-01&until=2030-01-01",
        "period=&probabilities=",
        "pipeline=1&pipeline=2",
        "until=0001-01-01",
    ],
)
def test_odd_filters_never_cause_a_500(api_for, client, manager, query):
    for url in ("/api/forecast/", "/api/analytics/funnel/"):
        assert api_for(manager).get(f"{url}?{query}").status_code in (200, 400)
    client.force_login(manager)
    for url in ("/forecast/", "/forecast/export/forecast.csv", "/forecast/panel/funnel/"):
        assert client.get(f"{url}?{query}").status_code in (200, 400)
