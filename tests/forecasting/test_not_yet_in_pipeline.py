"""What deals not yet in the pipeline will win (`analytics.new_deals`): learned on generated
histories with a known share of what is created won in the same month, the next, …; no
leakage of the future; and the ranges widened by it and by the probabilities' own uncertainty
holding the actual about 80 % of the time."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from deals.models import Deal
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.backtest import backtest
from forecasting.analytics.new_deals import (
    NotYetInPipeline,
    learn_new_deals,
    not_yet_in_pipeline,
)
from forecasting.analytics.ranges import Uncertain, simulate
from forecasting.analytics.scope import scoped_deals
from tests.forecasting.conftest import close_deal, make_deal
from tests.forecasting.simulated import history_with_new_wins

pytestmark = pytest.mark.django_db

FIRST = dt.date(2025, 1, 1)
DAY = dt.date(2026, 7, 1)  # 18 months of history before it
WON_AFTER = [0.25, 0.15, 0.05]  # won in the creation month, the next, the one after
PER_MONTH = 40


def _expected(rep, starts, kind="month", day=DAY):
    rates = learn_new_deals(day=day)
    return not_yet_in_pipeline(rates, scoped_deals(Scope(user=rep)), starts=starts, kind=kind)


# Enough deals a month that one seed's share won lands near the true one: with 40, a month's
# share won in its own month varies by ~27 % between seeds (binomial), ~11 % over the six months
# learned from, so 20 % was under two standard deviations and some seeds failed by chance.
PER_MONTH_FOR_ONE_SEED = 160


@pytest.mark.parametrize("seed", range(4))
def test_the_learned_term_is_the_known_share_of_what_is_created(people, seed):
    rep = people["rep"]
    per_month = PER_MONTH_FOR_ONE_SEED
    history_with_new_wins(
        rep, first=FIRST, months=18, per_month=per_month, won_after=WON_AFTER, seed=seed
    )
    created = per_month * 1000
    months = [DAY, dt.date(2026, 8, 1), dt.date(2026, 9, 1)]
    found = _expected(rep, months).expected
    # Month m ahead gets what months 0 … m create, each its share of delay m − c.
    truth = [created * sum(WON_AFTER[: m + 1]) for m in range(3)]
    assert found == pytest.approx(truth, rel=0.2)
    quarter = _expected(rep, [DAY], kind="quarter").expected
    assert quarter[0] == pytest.approx(sum(truth), rel=0.15)


def test_over_seeds_the_term_is_unbiased(people):
    rep = people["rep"]
    totals = []
    for seed in range(6):
        Deal.objects.all().delete()
        history_with_new_wins(
            rep,
            first=FIRST,
            months=18,
            per_month=PER_MONTH,
            won_after=WON_AFTER,
            seed=100 + seed,
        )
        totals.append(_expected(rep, [DAY], kind="quarter").expected[0])
    truth = PER_MONTH * 1000 * (3 * 0.25 + 2 * 0.15 + 0.05)
    assert np.mean(totals) == pytest.approx(truth, rel=0.06)


def test_a_growing_business_gets_the_trend_of_what_it_creates(people):
    rep = people["rep"]
    history_with_new_wins(
        rep, first=FIRST, months=18, per_month=20, won_after=WON_AFTER, growth=1.06
    )
    # What July creates (1.06¹⁸ × 20 deals) and wins in July, the growth carried forward.
    truth = 20 * 1.06**18 * 1000 * WON_AFTER[0]
    assert learn_new_deals(day=DAY).growth == pytest.approx(1.06, abs=0.01)
    assert _expected(rep, [DAY]).expected[0] == pytest.approx(truth, rel=0.2)
    # A flat business: no trend.
    Deal.objects.all().delete()
    history_with_new_wins(rep, first=FIRST, months=18, per_month=PER_MONTH, won_after=WON_AFTER)
    assert learn_new_deals(day=DAY).growth == pytest.approx(1.0, abs=0.01)


def test_the_current_month_counts_only_its_part_still_to_come(people):
    rep = people["rep"]
    history_with_new_wins(rep, first=FIRST, months=18, per_month=PER_MONTH, won_after=WON_AFTER)
    start = _expected(rep, [DAY]).expected[0]
    middle = _expected(rep, [DAY], day=dt.date(2026, 7, 17)).expected[0]
    assert middle == pytest.approx(start * (15 / 31) ** 2, rel=1e-6)
    # A period already over gets nothing.
    assert _expected(rep, [dt.date(2026, 6, 1), DAY]).expected[0] == 0


def test_nothing_known_after_the_forecast_day_is_learned(people):
    rep = people["rep"]
    history_with_new_wins(rep, first=FIRST, months=18, per_month=PER_MONTH, won_after=WON_AFTER)
    earlier = make_deal(rep, "Contact", amount="80000.00", created="2026-06-20")
    before = _expected(rep, [DAY, dt.date(2026, 8, 1)]).expected
    # Created and won after the day, or won after it from an earlier creation, or won in the
    # day's month before the day (its month is not over): none of it moves the figure.
    late = make_deal(rep, "Contact", amount="90000.00", created="2026-07-02")
    close_deal(late, "won", "2026-07-10", stage="Closed")
    close_deal(earlier, "won", "2026-07-05", stage="Closed")
    again = _expected(rep, [DAY, dt.date(2026, 8, 1)]).expected
    assert list(again) == list(before)


def test_the_backtest_adds_the_term_learned_at_each_period_start(people):
    rep = people["rep"]
    history_with_new_wins(rep, first=FIRST, months=18, per_month=PER_MONTH, won_after=WON_AFTER)
    scope = Scope(user=rep)
    row = backtest(scope, since=DAY, until=DAY, today=dt.date(2026, 8, 5)).rows[0]
    term = _expected(rep, [DAY]).expected[0]
    assert row.not_yet_in_pipeline == analytics.money(Decimal(repr(float(term))))
    assert row.deals == 0  # every deal closed in its creation month
    assert row.learned == row.not_yet_in_pipeline
    assert row.p10 < row.not_yet_in_pipeline < row.p90


def test_the_learned_forecast_shows_the_term_per_period_and_in_total(people):
    rep = people["rep"]
    history_with_new_wins(rep, first=FIRST, months=18, per_month=PER_MONTH, won_after=WON_AFTER)
    result = analytics.forecast(
        Scope(user=rep),
        probabilities="learned",
        today=DAY,
        since=DAY,
        until=dt.date(2026, 9, 30),
    )
    terms = [p.not_yet_in_pipeline for p in result.periods]
    assert all(term > 0 for term in terms)
    assert result.totals.not_yet_in_pipeline == pytest.approx(sum(terms), abs=Decimal("0.03"))
    api = result.as_dict()
    assert Decimal(api["totals"]["not_yet_in_pipeline"]) == result.totals.not_yet_in_pipeline
    assert api["periods"][0]["not_yet_in_pipeline"] == str(terms[0])
    configured = analytics.forecast(Scope(user=rep), today=DAY).as_dict()
    assert "not_yet_in_pipeline" not in configured["totals"]


# --- the widened ranges ------------------------------------------------------------------------


def _world(rng, deals, groups, weight):
    """A rep's open deals in `groups` groups whose true probability is drawn around the learned
    one (beta of concentration `weight`), and new deals' wins arriving as a compound Poisson."""
    amounts = rng.lognormal(8, 0.8, deals)
    group = rng.integers(0, groups, deals)
    learned = rng.uniform(0.1, 0.6, groups)
    truth = rng.beta(learned * weight, (1 - learned) * weight)
    won = rng.random(deals) < truth[group]
    arrivals = rng.poisson(3.0)
    new_amounts = rng.lognormal(8, 0.8, arrivals)
    actual = float(amounts[won].sum() + new_amounts.sum())
    mean_win = float(np.exp(8 + 0.32))
    not_yet = NotYetInPipeline(
        expected=np.array([3.0 * mean_win]),
        mean_win=mean_win,
        second_moment=float(np.exp(16 + 2 * 0.64)),
        evidence=1e6,
    )
    uncertain = Uncertain(group, learned, np.full(groups, float(weight)))
    return amounts, learned[group], uncertain, not_yet, actual


def _coverage(seeds, widened):
    inside = 0
    for seed in range(seeds):
        rng = np.random.default_rng(5000 + seed)
        amounts, chances, uncertain, not_yet, actual = _world(rng, 30, 3, 12)
        ranges = simulate(
            amounts=amounts,
            probabilities=chances,
            shares=np.ones((len(amounts), 1)),
            seed=seed,
            uncertain=uncertain if widened else None,
            not_yet=not_yet if widened else None,
        )
        inside += ranges.total.p10 <= actual <= ranges.total.p90
    return inside / seeds


def test_widened_bands_hold_a_small_scopes_actual_about_80_percent_of_the_time():
    assert _coverage(300, widened=True) == pytest.approx(0.8, abs=0.07)
    # Without the probabilities' uncertainty and the new deals the band is too narrow.
    assert _coverage(300, widened=False) < 0.65


def test_known_probabilities_draw_nothing_and_keep_the_plain_ranges():
    rng = np.random.default_rng(3)
    amounts, chances = rng.lognormal(8, 1, 200), rng.uniform(0.1, 0.9, 200)
    shares = np.ones((200, 1))
    known = Uncertain(np.zeros(200, dtype=np.int64), np.ones(1), np.full(1, np.inf))
    plain = simulate(amounts=amounts, probabilities=chances, shares=shares, seed=1)
    same = simulate(amounts=amounts, probabilities=chances, shares=shares, seed=1, uncertain=known)
    assert same.total.p50 == pytest.approx(plain.total.p50, rel=0.02)
    assert same.total.p90 - same.total.p10 == pytest.approx(
        plain.total.p90 - plain.total.p10, rel=0.1
    )
