"""Who counts in whose forecast, and the awkward cases: no deals, reopened, deleted stage."""

import datetime as dt
from decimal import Decimal

import pytest

from deals import services
from deals.models import Deal
from forecasting import analytics
from forecasting.analytics import Scope
from tests.factories import StageFactory, default_pipeline, lost_reason_entry, stage_named
from tests.forecasting.conftest import TODAY, make_deal

pytestmark = pytest.mark.django_db


def weighted(user, **scope):
    return analytics.forecast(Scope(user=user, **scope), today=TODAY).totals.weighted


def test_rep_forecast_equals_the_forecast_over_only_the_deals_they_see(forecast_world, people):
    rep, admin = people["rep"], people["admin"]
    visible = Deal.objects.visible_to(rep)
    assert forecast_world["d8"] not in visible
    # The admin's forecast narrowed to exactly the owners the rep may read.
    by_owner = sum(
        (weighted(admin, owner=owner) for owner in {d.owner for d in visible}), Decimal(0)
    )
    assert weighted(rep) == by_owner == Decimal("2450.00")


def test_an_outsiders_deals_never_count_for_another_team(forecast_world, people):
    for viewer in ("rep", "teammate", "manager"):
        assert weighted(people[viewer]) == Decimal("2450.00")
    # Only team B sees the outsider's 9999 at 75 %.
    assert weighted(people["outsider"]) == Decimal("7499.25")
    assert weighted(people["other_manager"]) == Decimal("7499.25")
    assert weighted(people["admin"]) == Decimal("9949.25")


def test_filtering_by_an_owner_outside_sight_gives_nothing(forecast_world, people):
    # The form never offers it; the analytics still never leak it.
    assert weighted(people["rep"], owner=people["outsider"]) == Decimal(0)


def test_funnel_and_reps_follow_visibility_too(forecast_world, people):
    reps = analytics.rep_figures(Scope(user=people["manager"]), today=TODAY)
    assert {r.name for r in reps} == {str(people["rep"]), str(people["teammate"])}
    outsider_funnel = analytics.funnel(
        Scope(user=people["outsider"]), since=dt.date(2026, 1, 1), until=dt.date(2026, 12, 31)
    )
    assert outsider_funnel.lost == 0  # the rep's lost deal is not theirs to see


def test_no_deals_gives_zeros_not_errors(people):
    scope = Scope(user=people["manager"])
    result = analytics.forecast(scope, today=TODAY)
    assert result.totals.weighted == Decimal(0)
    assert result.totals.deals == 0
    assert result.current.quota is None
    funnel = analytics.funnel(scope, since=dt.date(2026, 1, 1), until=dt.date(2026, 12, 31))
    assert funnel.win_rate is None
    assert funnel.average_deal_size is None
    assert funnel.cycle_days is None
    assert funnel.velocity is None
    assert funnel.bottleneck is None
    assert funnel.as_dict()["velocity"] is None
    assert analytics.rep_figures(scope, today=TODAY) == []


def test_reopened_deal_counts_as_open_again(people):
    rep = people["rep"]
    deal = services.create_deal(
        by=rep,
        title="Comeback",
        stage=stage_named("Proposal"),
        amount=Decimal("1000.00"),
        expected_close_date=dt.date(2026, 11, 20),
    )
    assert weighted(rep) == Decimal("550.00")
    services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Budget frozen"))
    assert weighted(rep) == Decimal(0)
    services.reopen_deal(deal=deal, by=rep)
    assert weighted(rep) == Decimal("550.00")


def test_deals_moved_off_a_deleted_stage_count_in_their_new_stage(people):
    rep, admin = people["rep"], people["admin"]
    pipeline = default_pipeline()
    extra = StageFactory(pipeline=pipeline, name="Demo", order=20, probability=60)
    deal = services.create_deal(
        by=rep,
        title="Moves",
        stage=extra,
        amount=Decimal("1000.00"),
        expected_close_date=dt.date(2026, 11, 20),
    )
    assert weighted(rep) == Decimal("600.00")
    services.delete_stage(stage=extra, by=admin, destination=stage_named("Negotiation"))
    assert weighted(rep) == Decimal("750.00")
    deal.refresh_from_db()
    # The history keeps both rows; the funnel counts the deal entering Negotiation.
    funnel = analytics.funnel(Scope(user=rep), since=dt.date(2020, 1, 1), until=dt.date(2030, 1, 1))
    negotiation = next(s for s in funnel.stages if s.name == "Negotiation")
    assert negotiation.entered == 1
    assert [s.name for s in funnel.stages if s.name == "Demo"] == []


def test_commit_flag_on_a_stage_makes_its_deals_commit(people):
    rep = people["rep"]
    contact = stage_named("Contact")
    contact.is_commit = True
    contact.save()
    make_deal(rep, "Contact", amount="100.00", close="2026-11-20")
    november = analytics.forecast(Scope(user=rep), today=TODAY).current
    assert (november.commit, november.best_case, november.pipeline) == (
        Decimal("100.00"),
        Decimal(0),
        Decimal(0),
    )


def test_category_boundaries_at_70_and_40_percent(people):
    rep = people["rep"]
    for percent in (70, 69, 40, 39):
        make_deal(
            rep, "Prospecting", amount="1.00", close="2026-11-20", probability_override=percent
        )
    november = analytics.forecast(Scope(user=rep), today=TODAY).current
    assert november.commit == Decimal("1.00")
    assert november.best_case == Decimal("2.00")
    assert november.pipeline == Decimal("1.00")


def test_won_deal_moved_back_to_an_open_stage_leaves_the_won_figure(people):
    rep = people["rep"]
    deal = services.create_deal(
        by=rep,
        title="Oops",
        stage=stage_named("Negotiation"),
        amount=Decimal("500.00"),
        expected_close_date=TODAY,
    )
    services.mark_won(deal=deal, by=rep)
    today = dt.date.today()
    assert analytics.forecast(Scope(user=rep), today=today).current.won == Decimal("500.00")
    deal.refresh_from_db()
    services.move_deal(deal=deal, by=rep, stage=stage_named("Negotiation"), version=deal.version)
    assert analytics.forecast(Scope(user=rep), today=today).current.won == Decimal(0)
