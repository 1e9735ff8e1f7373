"""Every figure of the forecast and the funnel against hand-computed fixtures (conftest.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from deals.models import Deal
from forecasting import analytics, tables
from forecasting.analytics import Scope
from forecasting.models import Quota
from tests.factories import UserFactory, lost_reason_entry
from tests.forecasting.conftest import TODAY, at, make_deal

pytestmark = pytest.mark.django_db


def by_period(result):
    return {p.period: p for p in result.periods}


def test_monthly_forecast_weighs_each_open_deal_by_its_probability(forecast_world, manager):
    result = analytics.forecast(Scope(user=manager), period="month", today=TODAY)

    assert [p.period for p in result.periods] == [
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    november = by_period(result)["2026-11"]
    # d1 1000 × 55 % + d2 2000 × 75 %
    assert november.weighted == Decimal("2050.00")
    assert november.commit == Decimal("2000.00")
    assert november.best_case == Decimal("1000.00")
    assert november.pipeline == Decimal("0")
    assert november.won == Decimal("1200.00")
    assert november.deals == 2
    assert november.won_deals == 1
    assert november.quota == Decimal("5000.00")
    assert november.gap == Decimal("3800.00")
    assert november.attainment == 0.24


def test_override_wins_over_stage_probability_and_deal_without_amount_counts_zero(
    forecast_world, manager
):
    december = by_period(analytics.forecast(Scope(user=manager), today=TODAY))["2026-12"]
    # d3: 500 at an 80 % override (commit, though Prospecting says 10 %); d4: no amount.
    assert december.weighted == Decimal("400.00")
    assert december.commit == Decimal("500.00")
    assert december.pipeline == Decimal("0")
    assert december.deals == 2


def test_deal_without_close_date_is_reported_apart_not_in_any_period(forecast_world, manager):
    result = analytics.forecast(Scope(user=manager), today=TODAY)
    assert result.unscheduled.deals == 1
    assert analytics.money(result.unscheduled.weighted) == Decimal("66.67")  # 333.33 × 20 %
    assert result.unscheduled.pipeline == Decimal("333.33")
    assert result.totals.deals == 4


def test_totals_add_up_the_periods(forecast_world, manager):
    totals = analytics.forecast(Scope(user=manager), today=TODAY).totals
    assert totals.weighted == Decimal("2450.00")
    assert totals.commit == Decimal("2500.00")
    assert totals.best_case == Decimal("1000.00")
    assert totals.won == Decimal("1200.00")
    assert totals.quota == Decimal("5000.00")


def test_quarterly_forecast_groups_by_quarter(forecast_world, manager):
    result = analytics.forecast(Scope(user=manager), period="quarter", today=TODAY)
    assert [p.period for p in result.periods] == ["2026-Q3", "2026-Q4", "2027-Q1", "2027-Q2"]
    q4 = by_period(result)["2026-Q4"]
    assert q4.weighted == Decimal("2450.00")
    assert q4.won == Decimal("1200.00")
    # Only a monthly team quota exists: the quarter adds up its months.
    assert q4.quota == Decimal("5000.00")


def test_other_currencies_are_not_added_to_dollars(forecast_world, manager):
    euros = analytics.forecast(Scope(user=manager, currency="EUR"), today=TODAY)
    assert by_period(euros)["2026-11"].weighted == Decimal("1750.00")  # 5000 × 35 %
    assert euros.totals.deals == 1
    dollars = analytics.forecast(Scope(user=manager), today=TODAY)
    assert dollars.currency == "USD"
    assert by_period(dollars)["2026-11"].weighted == Decimal("2050.00")


def test_api_shape_sends_money_as_decimal_strings(forecast_world, manager):
    payload = analytics.forecast(Scope(user=manager), today=TODAY).as_dict()
    november = next(p for p in payload["periods"] if p["period"] == "2026-11")
    assert november == {
        "period": "2026-11",
        "weighted": "2050.00",
        "commit": "2000.00",
        "best_case": "1000.00",
        "pipeline": "0.00",
        "won": "1200.00",
        "quota": "5000.00",
        "gap": "3800.00",
        "attainment": 0.24,
        "deals": 2,
        "won_deals": 1,
    }
    assert payload["totals"]["weighted"] == "2450.00"


SINCE, UNTIL = dt.date(2026, 10, 1), dt.date(2026, 11, 30)


def funnel_stages(result):
    return {s.name: s for s in result.stages}


def test_funnel_counts_entries_advances_and_losses_per_stage(funnel_world, rep):
    result = analytics.funnel(Scope(user=rep), since=SINCE, until=UNTIL)
    stages = funnel_stages(result)
    assert [(s.name, s.entered, s.advanced, s.lost) for s in result.stages] == [
        ("Prospecting", 4, 4, 0),
        ("Qualification", 4, 3, 1),
        ("Contact", 3, 2, 0),
        ("Proposal", 3, 2, 1),
        ("Negotiation", 1, 1, 0),
        ("Closed", 2, 0, 0),
        ("Post-sale", 0, 0, 0),
    ]
    assert stages["Qualification"].conversion == 0.75
    assert stages["Contact"].conversion == 0.6667
    assert stages["Post-sale"].conversion is None
    assert result.lost_reasons == [
        {"reason": "No budget", "count": 1},
        {"reason": "Price", "count": 1},
    ]


def test_where_deals_are_lost_gives_the_reasons_per_stage(funnel_world, rep):
    # funnel_world loses one deal in Qualification (No budget) and one in Proposal (Price).
    lost = {"status": "lost", "created": "2026-10-01"}
    make_deal(
        rep, "Proposal", lost_at=at("2026-10-20"), lost_reason=lost_reason_entry("Price"), **lost
    )
    make_deal(
        rep,
        "Proposal",
        lost_at=at("2026-10-22"),
        lost_reason=lost_reason_entry("No budget"),
        **lost,
    )
    make_deal(rep, "Contact", lost_at=at("2026-11-02"), **lost)  # no reason given
    make_deal(
        rep, "Proposal", lost_at=at("2026-09-15"), lost_reason=lost_reason_entry("Price"), **lost
    )

    result = analytics.funnel(Scope(user=rep), since=SINCE, until=UNTIL)

    # In the range: Qualification 1 × No budget; Contact 1 × none; Proposal 2 × Price (one of
    # funnel_world's, one here; the September one is before the range) and 1 × No budget.
    assert [(r["stage_name"], r["reason"], r["count"]) for r in result.lost_by_stage] == [
        ("Qualification", "No budget", 1),
        ("Contact", "", 1),
        ("Proposal", "Price", 2),
        ("Proposal", "No budget", 1),
    ]
    assert result.lost_reasons == [
        {"reason": "No budget", "count": 2},
        {"reason": "Price", "count": 2},
        {"reason": "", "count": 1},
    ]
    assert [(s.name, s.lost) for s in result.stages if s.lost] == [
        ("Qualification", 1),
        ("Contact", 1),
        ("Proposal", 3),
    ]


def test_time_in_stage_median_and_90th_percentile(funnel_world, rep):
    stages = funnel_stages(analytics.funnel(Scope(user=rep), since=SINCE, until=UNTIL))
    assert (stages["Prospecting"].median_days, stages["Prospecting"].p90_days) == (1.5, 2.0)
    assert (stages["Qualification"].median_days, stages["Qualification"].p90_days) == (5.5, 8.8)
    assert (stages["Contact"].median_days, stages["Contact"].p90_days) == (10.0, 10.0)
    assert (stages["Proposal"].median_days, stages["Proposal"].p90_days) == (8.0, 9.6)
    assert (stages["Negotiation"].median_days, stages["Negotiation"].p90_days) == (14.0, 14.0)
    assert stages["Closed"].median_days is None  # nobody left it


def test_bottleneck_is_the_slowest_stage(funnel_world, rep):
    result = analytics.funnel(Scope(user=rep), since=SINCE, until=UNTIL)
    assert result.bottleneck.name == "Negotiation"


def test_win_rate_deal_size_cycle_and_velocity(funnel_world, rep):
    result = analytics.funnel(Scope(user=rep), since=SINCE, until=UNTIL)
    assert (result.won, result.lost, result.open_deals) == (2, 2, 1)
    assert result.win_rate == 0.5
    assert result.average_deal_size == Decimal("2000.00")
    assert result.cycle_days == 24.5  # (27 + 22) / 2
    # 1 open deal × 0.5 × 2000 / 24.5 days
    assert analytics.money(result.velocity) == Decimal("40.82")
    payload = result.as_dict()
    assert payload["velocity"] == "40.82"
    assert payload["average_deal_size"] == "2000.00"
    assert payload["stages"][1] == {
        "stage": result.stages[1].stage_id,
        "name": "Qualification",
        "entered": 4,
        "advanced": 3,
        "conversion": 0.75,
        "lost": 1,
        "median_days": 5.5,
        "p90_days": 8.8,
    }


def test_funnel_range_leaves_out_moves_before_it(funnel_world, rep):
    result = analytics.funnel(
        Scope(user=rep), since=dt.date(2026, 10, 15), until=dt.date(2026, 11, 30)
    )
    stages = funnel_stages(result)
    assert stages["Prospecting"].entered == 0
    assert stages["Contact"].entered == 1  # c on 16 October
    assert stages["Proposal"].entered == 2  # a on 18, d on 21 October
    assert (result.won, result.lost) == (2, 1)


def test_dashboard_cards_from_the_single_pass_match_the_funnel(funnel_world, rep):
    scope = Scope(user=rep)
    one_pass = analytics.forecast(
        scope, today=TODAY, closed_range=(SINCE, UNTIL), closed_pipeline=funnel_world["a"].pipeline
    ).closed
    alone = analytics.closed_figures(scope, since=SINCE, until=UNTIL)
    funnel = analytics.funnel(scope, since=SINCE, until=UNTIL)
    for key in ("won", "lost", "win_rate", "average_deal_size", "cycle_days", "since", "until"):
        assert one_pass[key] == alone[key]
    assert (one_pass["won"], one_pass["lost"]) == (2, 2)
    assert one_pass["win_rate"] == funnel.win_rate == 0.5
    assert one_pass["average_deal_size"] == funnel.average_deal_size == Decimal("2000")
    assert one_pass["cycle_days"] == funnel.cycle_days == 24.5
    # Velocity needs every open deal: the funnel has it, the cards do not read it.
    assert one_pass["velocity"] is None
    assert analytics.money(alone["velocity"]) == Decimal("40.82")


@pytest.mark.parametrize(
    ("since", "until", "labels"),
    [
        (dt.date(2026, 12, 15), dt.date(2027, 1, 3), ["2026-12", "2027-01"]),
        (
            None,
            dt.date(2020, 1, 1),
            ["2019-08", "2019-09", "2019-10", "2019-11", "2019-12", "2020-01"],
        ),
        (
            dt.date(2030, 5, 1),
            None,
            ["2030-05", "2030-06", "2030-07", "2030-08", "2030-09", "2030-10"],
        ),
    ],
)
def test_forecast_window_follows_the_dates_given_and_is_never_empty(manager, since, until, labels):
    result = analytics.forecast(Scope(user=manager), since=since, until=until, today=TODAY)
    assert [p.period for p in result.periods] == labels


def test_rep_table_figures(forecast_world, manager, people):
    reps = analytics.rep_figures(Scope(user=manager), today=TODAY)
    assert [r.name for r in reps] == [str(people["teammate"]), str(people["rep"])]
    teammate, rep = reps
    assert (teammate.open_deals, teammate.pipeline, teammate.weighted) == (
        1,
        Decimal("2000.00"),
        Decimal("1500.00"),
    )
    assert (teammate.won, teammate.won_deals, teammate.win_rate) == (Decimal("1200.00"), 1, 1.0)
    # d1, d3, d4 (no amount), d5; d9 is in euros.
    assert (rep.open_deals, rep.pipeline) == (4, Decimal("1833.33"))
    assert analytics.money(rep.weighted) == Decimal("1016.67")  # 550 + 400 + 0 + 66.666
    assert (rep.won, rep.closed_won, rep.closed_lost, rep.win_rate) == (Decimal(0), 0, 1, 0.0)
    assert rep.quota is None
    assert rep.gap is None
    assert (teammate.stalled, rep.stalled) == (0, 0)


def test_rep_table_counts_each_reps_stalled_open_deals(forecast_world, manager, people):
    rep, teammate = people["rep"], people["teammate"]
    make_deal(rep, "Proposal", close="2026-11-20", stalled=True)
    make_deal(rep, "Contact", close="2027-01-10", stalled=True)
    make_deal(rep, "Contact", close=None, stalled=True)
    make_deal(rep, "Proposal", status="lost", lost_at=at("2026-11-02"), stalled=True)  # gone
    make_deal(teammate, "Negotiation", close="2026-11-28", stalled=True)
    by_name = {r.name: r for r in analytics.rep_figures(Scope(user=manager), today=TODAY)}
    assert by_name[str(rep)].stalled == 3
    assert by_name[str(teammate)].stalled == 1


def test_rep_quota_gap_and_attainment(forecast_world, manager, people):
    Quota.objects.create(
        user=people["teammate"], period="month", period_start=dt.date(2026, 11, 1), amount=4800
    )
    teammate = analytics.rep_figures(Scope(user=manager), today=TODAY)[0]
    assert (teammate.quota, teammate.gap, teammate.attainment) == (
        Decimal("4800.00"),
        Decimal("3600.00"),
        0.25,
    )


def set_quota(amount, *, team=None, user=None, start="2026-11-01", period="month"):
    Quota.objects.create(
        team=team,
        user=user,
        period=period,
        period_start=dt.date.fromisoformat(start),
        amount=Decimal(amount),
    )


def quota_of(scope, period_label, kind="month"):
    return by_period(analytics.forecast(scope, period=kind, today=TODAY))[period_label].quota


def test_a_manager_of_two_teams_gets_one_teams_quota_and_the_other_teams_reps_quotas(
    forecast_world, manager, people
):
    team_a, team_b = people["rep"].teams.get(), people["outsider"].teams.get()
    team_b.managers.add(manager)
    set_quota("2000.00", user=people["outsider"])  # team B has no quota of its own
    set_quota("1500.00", user=people["rep"])  # inside team A's 5000: not added again
    november = by_period(analytics.forecast(Scope(user=manager), today=TODAY))["2026-11"]
    assert november.quota == Decimal("7000.00")  # team A 5000 + outsider 2000
    assert november.gap == Decimal("5800.00")  # 7000 − d6's 1200 won
    assert quota_of(Scope(user=manager, team=team_a), "2026-11") == Decimal("5000.00")
    assert quota_of(Scope(user=manager, team=team_b), "2026-11") == Decimal("2000.00")


def test_a_teams_own_quota_counts_else_its_members_add_up(people, manager):
    team_a = people["rep"].teams.get()
    set_quota("1500.00", user=people["rep"])
    set_quota("1000.00", user=people["teammate"])
    set_quota("6000.00", team=team_a)
    assert quota_of(Scope(user=manager, team=team_a), "2026-11") == Decimal("6000.00")
    assert quota_of(Scope(user=manager), "2026-11") == Decimal("6000.00")
    # December: no team quota, so the members' quotas for December add up.
    set_quota("700.00", user=people["rep"], start="2026-12-01")
    set_quota("300.00", user=people["teammate"], start="2026-12-01")
    assert quota_of(Scope(user=manager, team=team_a), "2026-12") == Decimal("1000.00")
    # A rep's own view: their own quota, never the team's.
    assert quota_of(Scope(user=manager, owner=people["rep"]), "2026-11") == Decimal("1500.00")


def test_everyone_counts_once_and_people_outside_teams_count_their_own(people):
    admin = people["admin"]
    team_b = people["outsider"].teams.get()
    team_b.members.add(people["teammate"])  # in team A and team B, neither with a team quota
    solo = UserFactory(username="solo", role="rep")  # in no team
    set_quota("1500.00", user=people["rep"])
    set_quota("1000.00", user=people["teammate"])
    set_quota("2000.00", user=people["outsider"])
    set_quota("700.00", user=solo)
    # 1500 + 1000 (once, not once per team) + 2000 + 700
    assert quota_of(Scope(user=admin), "2026-11") == Decimal("5200.00")
    # With a quota of its own, team B covers the teammate: team A is the rep alone.
    set_quota("2500.00", team=team_b)
    assert quota_of(Scope(user=admin), "2026-11") == Decimal("4700.00")  # 1500 + 2500 + 700


def test_a_quarter_uses_its_own_quota_else_adds_up_its_months(people, manager):
    team_a = people["rep"].teams.get()
    set_quota("4000.00", team=team_a, start="2026-10-01")
    set_quota("5000.00", team=team_a, start="2026-11-01")
    scope = Scope(user=manager)
    assert quota_of(scope, "2026-Q4", "quarter") == Decimal("9000.00")  # October + November
    set_quota("12000.00", team=team_a, start="2026-10-01", period="quarter")
    assert quota_of(scope, "2026-Q4", "quarter") == Decimal("12000.00")
    assert quota_of(scope, "2026-11") == Decimal("5000.00")  # the months keep theirs
    assert quota_of(scope, "2026-12") is None
    assert quota_of(scope, "2027-Q1", "quarter") is None


def test_watchlist_gives_a_stalled_deals_reasons(people):
    stalled = make_deal(people["rep"], "Proposal", amount="9000.00", close="2026-11-14")
    Deal.objects.filter(pk=stalled.pk).update(stalled=True, stall_reasons=["idle", "no_next_step"])

    result = analytics.watchlist(Scope(user=people["rep"]), today=TODAY)

    assert [(w.deal_id, w.reasons) for w in result["stalled"]] == [
        (stalled.pk, ["idle", "no_next_step"])
    ]
    table = tables.watch_table("stalled", "Stalled deals", result["stalled"], "USD")
    assert table.values[0][-1] == "idle; no next step"


def test_watchlist_lists_stalled_and_each_kind_of_risk(people):
    rep = people["rep"]
    stalled = make_deal(rep, "Proposal", amount="9000.00", close="2026-11-14", stalled=True)
    overdue = make_deal(rep, "Negotiation", amount="5000.00", close="2026-11-01")
    pushed = make_deal(
        rep, "Negotiation", amount="4000.00", close="2027-03-01", close_date_pushes=2
    )
    soon_low = make_deal(rep, "Qualification", amount="3000.00", close="2026-11-20")
    make_deal(rep, "Negotiation", amount="2000.00", close="2026-11-20")  # soon but 75 %: fine
    make_deal(rep, "Qualification", amount="1000.00", close="2027-02-01")  # far off: fine
    result = analytics.watchlist(Scope(user=rep), today=TODAY)
    assert [w.deal_id for w in result["stalled"]] == [stalled.pk]
    assert [(w.deal_id, w.reasons) for w in result["at_risk"]] == [
        (overdue.pk, ["close date passed"]),
        (pushed.pk, ["close date pushed 2×"]),
        (soon_low.pk, ["closing soon at low probability"]),
    ]
