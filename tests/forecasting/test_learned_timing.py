"""Learning *when* won deals close (the slip past their expected close date), spreading the
learned forecast over periods, and its p10 / p50 / p90 ranges."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from deals.models import Deal, FieldChange
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.learning import learn_model
from forecasting.analytics.ranges import EXACT_DEALS, simulate
from forecasting.analytics.scope import day_bounds
from tests.factories import stage_named
from tests.forecasting.conftest import TODAY, at, history, make_deal
from tests.forecasting.simulated import history_with_early_wins, history_with_slips

pytestmark = pytest.mark.django_db

SLIPS = [0.5, 0.3, 0.2]


def test_the_learned_spread_over_periods_is_close_to_the_true_slip(people):
    drawn = history_with_slips(people["rep"], "Proposal", win_rate=0.4, slips=SLIPS, deals=1500)
    model = learn_model()
    proposal = stage_named("Proposal").pk
    shares = model.period_shares(stage_id=proposal, kind="month", count=4)
    assert len(shares) == 5
    assert sum(shares) == pytest.approx(1)
    assert shares == pytest.approx([*SLIPS, 0, 0], abs=0.04)
    # Exactly what was drawn (its only stage: nothing to shrink toward but itself).
    assert shares[:3] == pytest.approx([n / drawn["won"] for n in drawn["slips"]])
    # In quarters, a slip of one or two months stays in the quarter or moves to the next.
    quarters = model.period_shares(stage_id=proposal, kind="quarter", count=2)
    assert quarters[0] > 0.5
    assert sum(quarters) == pytest.approx(1)
    assert model.probability(stage_id=proposal, owner_id=None) == pytest.approx(0.4, abs=0.04)


def test_the_close_date_a_deal_had_when_it_entered_the_stage_is_the_expected_one(people):
    deal = make_deal(
        people["rep"], "Closed", status=Deal.Status.WON, close="2026-11-10", won_at=at("2026-11-05")
    )
    history(deal, ("Proposal", "2026-10-01"), ("Closed", "2026-11-05"))
    # Expected 20 October when it entered Proposal; pushed to 10 November on the 15th.
    FieldChange.objects.create(
        deal=deal,
        field="expected_close_date",
        old_value="2026-10-20",
        new_value="2026-11-10",
        at=at("2026-10-15"),
    )
    shares = learn_model().period_shares(stage_id=stage_named("Proposal").pk, kind="month", count=2)
    assert shares == [0.0, 1.0, 0.0]  # won one month after the expected one


def test_a_stage_without_timing_history_closes_in_the_expected_period(people):
    shares = learn_model().period_shares(stage_id=stage_named("Contact").pk, kind="month", count=3)
    assert shares == [1.0, 0.0, 0.0, 0.0]


def test_the_learned_forecast_spreads_each_deal_over_the_periods_it_may_close_in(people):
    rep = people["rep"]
    history_with_slips(rep, "Proposal", win_rate=0.5, slips=SLIPS, deals=400)
    model = learn_model()
    proposal = stage_named("Proposal").pk
    p = float(model.percent(stage_id=proposal, owner_id=rep.pk)) / 100
    shares = model.period_shares(stage_id=proposal, kind="month", count=3)
    make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")
    make_deal(rep, "Proposal", amount="2000.00", close="2026-09-01")  # overdue: from November
    result = _learned(rep, dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    weighted = [f.weighted for f in result.periods]
    expected = [Decimal(0), *(analytics.money(Decimal(3000 * p * s)) for s in shares[:2])]
    assert weighted == [pytest.approx(e, abs=Decimal("0.02")) for e in expected]
    # Nothing open is due in the past; both deals count in November's categories.
    assert [f.deals for f in result.periods] == [0, 2, 0]
    november = result.periods[1]
    assert november.range is not None
    assert november.range.p10 <= november.range.p90
    assert result.totals.range is not None
    api = result.as_dict()
    assert set(api["totals"]) >= {"p10", "p50", "p90"}
    assert "p10" not in analytics.forecast(Scope(user=rep), today=TODAY).as_dict()["totals"]


def _random_pipeline(rng, n, n_periods=3):
    amounts = rng.lognormal(8, 1, n)
    chances = rng.uniform(0.05, 0.9, n)
    shares = rng.dirichlet([4, 2, 1, 1][: n_periods + 1], n)[:, :n_periods]
    return amounts, chances, shares


def _actual(rng, amounts, chances, shares):
    """One true future: each deal won or not, and the period it closes in."""
    n, n_periods = shares.shape
    won = rng.random(n) < chances
    cumulative = np.cumsum(shares, axis=1)
    period = (rng.random(n)[:, None] >= cumulative).sum(axis=1)
    per_period = np.zeros(n_periods + 1)
    np.add.at(per_period, np.where(won, period, n_periods), np.where(won, amounts, 0))
    return per_period[:n_periods]


@pytest.mark.parametrize(("deals", "seeds"), [(40, 300), (EXACT_DEALS + 500, 40)])
def test_p10_to_p90_holds_the_actual_about_80_percent_of_the_time(deals, seeds):
    inside_total = inside_period = 0
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        amounts, chances, shares = _random_pipeline(rng, deals)
        ranges = simulate(amounts=amounts, probabilities=chances, shares=shares, seed=seed)
        actual = _actual(rng, amounts, chances, shares)
        inside_total += ranges.total.p10 <= actual.sum() <= ranges.total.p90
        inside_period += ranges.periods[0].p10 <= actual[0] <= ranges.periods[0].p90
    tolerance = 0.07 if seeds >= 300 else 0.15
    assert inside_total / seeds == pytest.approx(0.8, abs=tolerance)
    assert inside_period / seeds == pytest.approx(0.8, abs=tolerance)


def test_the_ranges_are_seeded_and_centred_on_the_weighted_figure():
    rng = np.random.default_rng(7)
    amounts, chances, shares = _random_pipeline(rng, 500)
    first = simulate(amounts=amounts, probabilities=chances, shares=shares, seed=3)
    assert simulate(amounts=amounts, probabilities=chances, shares=shares, seed=3) == first
    weighted = float((amounts * chances) @ shares.sum(axis=1))
    assert first.total.p10 < weighted < first.total.p90
    assert first.total.p50 == pytest.approx(weighted, rel=0.05)


def test_a_deal_due_later_may_land_early_as_such_deals_did(people):
    rep = people["rep"]
    history_with_early_wins(rep, "Proposal", months=10, per_month=30, early=0.4)
    proposal = stage_named("Proposal").pk
    model = learn_model(as_of=dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    # Seen at the start of the month after their entry: due next month (one ahead); won that
    # month (early) or two later (a month past the date). Known by December: the early wins of
    # the ten months, the late ones of the first eight: 0.4 × 300 / (0.4 × 300 + 0.6 × 240).
    shares = model.landing_shares(stage_id=proposal, kind="month", ahead=1, count=3)
    assert shares[0] == pytest.approx(120 / 264, abs=0.06)
    assert shares[1] == 0
    assert shares[2] == pytest.approx(1 - shares[0])
    # Nothing seen that far ahead: the expected period's timing, shifted.
    assert model.landing_shares(stage_id=proposal, kind="month", ahead=5, count=3) == [0, 0, 0]


def test_the_learned_forecast_lands_a_deal_due_later_by_those_shares(people):
    rep = people["rep"]
    history_with_early_wins(rep, "Proposal", months=10, per_month=30, early=0.4)
    model = learn_model()
    proposal = stage_named("Proposal").pk
    p = float(model.percent(stage_id=proposal, owner_id=rep.pk)) / 100
    shares = model.landing_shares(stage_id=proposal, kind="month", ahead=1, count=3)
    make_deal(rep, "Proposal", amount="1000.00", close="2026-12-20")  # due next month
    result = _learned(rep, dt.date(2026, 11, 1), dt.date(2027, 1, 31))
    weighted = [f.weighted for f in result.periods]
    expected = [analytics.money(Decimal(1000 * p * s)) for s in shares]
    assert weighted == [pytest.approx(e, abs=Decimal("0.02")) for e in expected]
    assert weighted[0] > 0  # it may well close this month, before its date


def _learned(rep, since, until):
    """The rep's learned forecast on TODAY, by month from `since` to `until`."""
    return analytics.forecast(
        Scope(user=rep), probabilities="learned", today=TODAY, since=since, until=until
    )


def test_the_live_forecast_learns_timing_from_the_deals_won_before_today_and_keeps_it(
    people, django_assert_max_num_queries
):
    proposal = stage_named("Proposal").pk
    now, today = timezone.now(), timezone.localdate()
    # Won now, a month or more after the close date it had when it entered Proposal.
    deal = make_deal(
        people["rep"], "Closed", status=Deal.Status.WON, close="2026-10-20", won_at=now
    )
    history(deal, ("Proposal", "2026-09-25"), ("Closed", today.isoformat()))
    tomorrow = day_bounds(today, today)[1]
    # The live model learns from before today: the win counts from tomorrow's model on.
    assert learn_model().slips["month"].get(proposal) is None
    assert sum(learn_model(as_of=tomorrow).slips["month"][proposal]) == 1
    # The same day's model comes back from the cache: no timing query is read again.
    with django_assert_max_num_queries(3):
        learn_model()
