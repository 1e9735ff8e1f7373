"""The stored backtest (forecasting.services.store_backtests, the nightly job): the accuracy
panel reads each period's forecast made at its start from its stored parts (per owner then and
currency) instead of rebuilding the pipeline of every start, with the same figures, in a few
queries, under the same sight rule; its Brier scores count the deals closed by the last run."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from currencies import services as currency_services
from forecasting.analytics import Scope
from forecasting.analytics.backtest import backtest, combined, recent_starts
from forecasting.analytics.backtest_parts import PERCENTILES, Part
from forecasting.models import BacktestPart, StoredBacktest
from forecasting.services import store_backtests
from forecasting.tasks import store_forecast_backtests
from tests.factories import default_pipeline
from tests.forecasting.conftest import (
    OCTOBER,
    SEPTEMBER,
    TODAY,
    close_deal,
    history,
    make_deal,
)

pytestmark = pytest.mark.django_db

RANGE = {"since": SEPTEMBER, "until": dt.date(2026, 10, 31), "today": TODAY}


def store(kind="month", starts=(SEPTEMBER, OCTOBER), today=TODAY):
    return store_backtests(kind=kind, starts=list(starts), today=today)


def figures(result):
    """Each row's figures, what is the same whether stored or computed."""
    return [
        (
            r.period,
            r.pipeline_from,
            r.deals,
            r.configured,
            r.learned,
            r.not_yet_in_pipeline,
            r.p10,
            r.p50,
            r.p90,
            r.won,
            r.brier_configured,
            r.brier_learned,
            r.brier_deals,
        )
        for r in result.rows
    ]


@pytest.fixture
def two_reps_world(people, backtest_world, admin_user):
    """backtest_world (the rep's deals) and a teammate's deal open through September, in
    euros, won in October."""
    currency_services.set_rate(
        by=admin_user, currency="EUR", rate="1.10", valid_from=dt.date(2026, 1, 1)
    )
    theirs = make_deal(
        people["teammate"], "Proposal", amount="800.00", close="2026-09-25", created="2026-08-03",
        currency="EUR",
    )  # fmt: skip
    history(theirs, ("Prospecting", "2026-08-03"), ("Proposal", "2026-08-12"))
    close_deal(theirs, "won", "2026-10-02", stage="Closed")
    return theirs


@pytest.mark.parametrize("viewer", ["rep", "manager", "admin"])
def test_a_stored_backtest_shows_what_the_history_gives_each_viewer(people, two_reps_world, viewer):
    scope = Scope(user=people[viewer])
    computed = backtest(scope, **RANGE)
    assert computed.scored_on is None
    store()
    stored = backtest(scope, **RANGE)
    assert stored.scored_on == TODAY
    assert figures(stored) == figures(computed)
    assert stored.summary == computed.summary


def test_a_reps_parts_add_up_with_their_teammates_converted(people, two_reps_world):
    store()
    rep = backtest(Scope(user=people["rep"], owner=people["rep"]), **RANGE).rows[0]
    team = backtest(Scope(user=people["manager"]), **RANGE).rows[0]
    euros = backtest(Scope(user=people["manager"], currency="EUR"), **RANGE).rows[0]
    assert (rep.deals, team.deals, euros.deals) == (3, 4, 1)
    assert rep.configured == Decimal("2275.00")
    # The teammate's 800 € due 25 September in Proposal (55 %), at 1.10 $ per euro.
    assert team.configured == Decimal("2275.00") + Decimal("484.00")
    assert euros.configured == Decimal("440.00")
    assert rep.p90 <= team.p90


def test_an_outsider_reads_none_of_the_stored_parts(people, two_reps_world):
    store()
    assert BacktestPart.objects.count() > 0
    assert backtest(Scope(user=people["outsider"]), **RANGE).rows == []


def test_a_stored_backtest_is_read_in_a_few_queries_whatever_the_periods(
    people, two_reps_world, django_assert_max_num_queries
):
    scope = Scope(user=people["manager"])
    backtest(scope, **RANGE)  # the viewer's role and teams, read once
    store(starts=recent_starts("month", TODAY))
    with CaptureQueriesContext(connection) as computed:
        backtest(scope, period="quarter", today=TODAY)  # quarters not stored
    with django_assert_max_num_queries(8):
        year = backtest(scope, today=TODAY)
    assert len(year.rows) == 3  # August (the first deal) to October
    assert year.scored_on == TODAY
    assert len(computed) > 8  # computed from history


def test_the_brier_scores_count_the_deals_closed_by_the_last_run(people, backtest_world):
    store()
    assert backtest(Scope(user=people["rep"]), **RANGE).rows[1].brier_deals == 1  # C is open
    close_deal(backtest_world["c"], "lost", "2026-11-10")
    # Stored on the 15th: C's loss counts from the next run on.
    assert backtest(Scope(user=people["rep"]), **RANGE).rows[1].brier_deals == 1
    store(today=dt.date(2026, 11, 16))
    again = backtest(Scope(user=people["rep"]), **RANGE)
    assert again.scored_on == dt.date(2026, 11, 16)
    assert again.rows[1].brier_deals == 2
    # C was in Prospecting (10 %) on 1 October and was lost: 0.1² joins A's 0.45².
    assert again.rows[1].brier_configured == pytest.approx((0.45**2 + 0.1**2) / 2, abs=1e-4)


def test_the_nightly_job_stores_the_recent_months_and_quarters_again_and_again(
    people, backtest_world
):
    first = store_forecast_backtests(TODAY.isoformat())
    assert first > 0
    kinds = StoredBacktest.objects.values_list("kind", flat=True)
    # 12 months and 4 quarters, for the one pipeline and for every pipeline at once.
    assert (list(kinds).count("month"), list(kinds).count("quarter")) == (24, 8)
    assert store_forecast_backtests(TODAY.isoformat()) == first
    assert StoredBacktest.objects.count() == 32


def test_a_period_stored_for_one_pipeline_is_not_read_for_all_of_them(people, backtest_world):
    store_backtests(kind="month", starts=[SEPTEMBER], today=TODAY)
    one = backtest(Scope(user=people["rep"], pipeline=default_pipeline()), **RANGE)
    every = backtest(Scope(user=people["rep"]), **RANGE)
    assert one.rows[0].configured == every.rows[0].configured == Decimal("2275.00")
    StoredBacktest.objects.filter(pipeline__isnull=True).delete()
    assert backtest(Scope(user=people["rep"]), **RANGE).scored_on is None
    assert backtest(Scope(user=people["rep"], pipeline=default_pipeline()), **RANGE).scored_on


def coin(amount: float) -> Part:
    """A part that wins `amount` or nothing, even odds, as its percentiles say."""
    percentiles = [0.0 if p < 50 else amount for p in PERCENTILES]
    return Part(0, "USD", 1, 0.0, amount / 2, 0.0, percentiles, 0.0, 0.0, 0)


def test_the_range_of_several_parts_is_drawn_from_their_distributions():
    # Two independent coins of 1000: 0 a quarter of the time, 1000 half, 2000 a quarter.
    two = combined([coin(1000.0), coin(1000.0)], {"USD": 1.0})
    assert (two["p10"], two["p50"], two["p90"]) == (Decimal(0), Decimal(1000), Decimal(2000))
    # Ten of them: binomial(10, ½) × 100 has p10 300, p50 500, p90 700.
    ten = combined([coin(100.0) for _ in range(10)], {"USD": 1.0})
    assert (ten["p10"], ten["p50"], ten["p90"]) == pytest.approx(
        (Decimal(300), Decimal(500), Decimal(700)), abs=Decimal(15)
    )
    # Amounts converted: a euro coin at 1.10.
    euro = Part(0, "EUR", 1, 0.0, 500.0, 0.0, coin(1000.0).percentiles, 0.0, 0.0, 0)
    alone = combined([euro], {"EUR": 1.1, "USD": 1.0})
    assert (alone["learned"], alone["p90"]) == (Decimal("550.00"), Decimal("1100.00"))
    assert combined([euro], {"USD": 1.0})["deals"] == 0  # no rate: left out, as everywhere


def test_percentiles_stored_are_the_simulated_distribution(people, backtest_world):
    store(starts=[SEPTEMBER])
    part = BacktestPart.objects.get(backtest__pipeline__isnull=True)
    values = np.array(part.percentiles)
    assert len(values) == 101
    assert (np.diff(values) >= 0).all()
    row = backtest(Scope(user=people["rep"]), **RANGE).rows[0]
    assert (row.p10, row.p50, row.p90) == tuple(
        Decimal(repr(float(values[p]))).quantize(Decimal("0.01")) for p in (10, 50, 90)
    )


def test_the_panel_and_the_api_say_when_the_stored_scores_were_counted(
    client, api_for, people, backtest_world
):
    url = "/forecast/panel/accuracy/?since=2026-09-01&until=2026-10-31"
    client.force_login(people["rep"])
    assert "the nightly backtest)" not in client.get(url + "&compute=1").content.decode()
    api = api_for(people["rep"]).get("/api/forecast/accuracy/?since=2026-09-01&until=2026-10-31")
    assert api.json()["scored_on"] is None
    store()
    html = client.get(url).content.decode()
    assert "closed by 15 Nov 2026: the nightly backtest" in html
    assert "$2,275" in html  # September's configured forecast, from the stored parts
    api = api_for(people["rep"]).get("/api/forecast/accuracy/?since=2026-09-01&until=2026-10-31")
    assert api.json()["scored_on"] == "2026-11-15"
    assert api.json()["rows"][0]["configured"] == "2275.00"


def test_the_panel_offers_a_button_where_the_backtest_is_not_stored_and_computes_on_it(
    client, people, backtest_world
):
    client.force_login(people["rep"])
    url = "/forecast/panel/accuracy/?since=2026-09-01&until=2026-10-31"
    with CaptureQueriesContext(connection) as asked:
        pending = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<button" in pending
    assert "compute=1" in pending
    assert 'data-table="accuracy"' not in pending
    assert not any("deals_stagechange" in q["sql"] for q in asked)  # no history replayed
    computed = client.get(url + "&compute=1", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-table="accuracy"' in computed
    assert "$2,275" in computed
    store()
    stored = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-table="accuracy"' in stored
    assert "<button" not in stored


def test_the_command_stores_what_the_nightly_job_stores(people, backtest_world):
    out = StringIO()
    call_command("store_backtests", "--day", TODAY.isoformat(), stdout=out)
    parts = BacktestPart.objects.count()
    assert parts > 0
    assert f"Backtests stored: {parts} parts" in out.getvalue()
    assert StoredBacktest.objects.filter(scored_on=TODAY).count() == 32
