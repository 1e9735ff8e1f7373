"""The backtest: each past period's forecast made at its start beside what was won (the world:
tests/forecasting/conftest.py `backtest_world`)."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deals.models import Deal
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.backtest import backtest
from forecasting.analytics.learning import learn_model
from forecasting.analytics.scope import day_bounds
from tests.factories import stage_named
from tests.forecasting.conftest import SEPTEMBER, TODAY, at, close_deal, history, make_deal

pytestmark = pytest.mark.django_db

RANGE = {"since": SEPTEMBER, "until": dt.date(2026, 10, 31), "today": TODAY}


def test_backtest_forecasts_each_period_from_the_pipeline_at_its_start(people, backtest_world):
    result = backtest(Scope(user=people["rep"]), **RANGE)
    september, october = result.rows
    # September, rebuilt from history: A due 20 September then (pushed later), B and E.
    assert (september.period, september.pipeline_from, september.deals) == ("2026-09", "history", 3)
    assert september.configured == Decimal("550.00") + Decimal("1500.00") + Decimal("225.00")
    assert september.won == Decimal("300.00")
    assert september.configured_error == pytest.approx((2275 - 300) / 300, abs=1e-4)
    # October, from its snapshot: A (due 5 October) and C.
    assert (october.period, october.pipeline_from, october.deals) == ("2026-10", "snapshot", 2)
    assert october.configured == Decimal("590.00")
    assert october.won == Decimal("1000.00")
    assert october.configured_error == -0.41


def test_brier_scores_the_deals_open_at_the_start_that_closed_since(people, backtest_world):
    result = backtest(Scope(user=people["rep"]), **RANGE)
    september, october = result.rows
    # A won (55 %), B lost (75 %), E won (75 %); C is still open and not scored.
    assert september.brier_deals == 3
    assert september.brier_configured == round((0.45**2 + 0.75**2 + 0.25**2) / 3, 4)
    assert (october.brier_deals, october.brier_configured) == (1, 0.2025)
    summary = result.summary
    assert summary.brier_deals == 4
    assert summary.brier_configured == round((0.45**2 + 0.75**2 + 0.25**2 + 0.45**2) / 4, 4)
    assert summary.configured_error == pytest.approx(
        (abs(september.configured_error) + 0.41) / 2, abs=1e-4
    )


def test_learned_forecast_is_the_model_learned_at_the_period_start(people, backtest_world):
    scope = Scope(user=people["rep"])
    september = backtest(scope, **RANGE).rows[0]
    model = learn_model(as_of=day_bounds(SEPTEMBER, SEPTEMBER)[0])
    expected = sum(
        amount
        * model.probability(stage_id=stage_named(stage).pk, owner_id=people["rep"].pk)
        * model.period_shares(stage_id=stage_named(stage).pk, kind="month", count=1)[0]
        for stage, amount in (("Proposal", 1000), ("Negotiation", 2000), ("Negotiation", 300))
    )
    assert september.learned == analytics.money(Decimal(repr(expected)))
    assert september.p10 <= september.p50 <= september.p90
    # A deal closed after the start changes what was won, not the model of that period.
    late = make_deal(people["rep"], "Proposal", amount="5000.00", created="2026-09-05")
    history(late, ("Prospecting", "2026-09-05"), ("Proposal", "2026-09-08"))
    close_deal(late, "won", "2026-09-20", stage="Closed")
    again = backtest(scope, **RANGE).rows[0]
    assert again.won == september.won + Decimal("5000.00")
    assert (again.learned, again.p10, again.p90) == (
        september.learned,
        september.p10,
        september.p90,
    )


def test_the_backtest_is_scoped_to_what_the_viewer_sees(people, backtest_world):
    outsider = people["outsider"]
    assert backtest(Scope(user=outsider), **RANGE).rows == []  # no deal of theirs
    theirs = make_deal(outsider, "Negotiation", amount="900.00", close="2026-10-10")
    Deal.objects.filter(pk=theirs.pk).update(created_at=at("2026-08-01"))
    history(theirs, ("Negotiation", "2026-08-02"))
    rep_rows = backtest(Scope(user=people["rep"]), **RANGE).rows
    assert rep_rows[0].configured == Decimal("2275.00")  # the outsider's deal is not seen


def test_default_range_is_the_past_periods_with_deals(people, backtest_world):
    result = backtest(Scope(user=people["rep"]), today=TODAY)
    # The first deal was created in August; November is not over.
    assert [r.period for r in result.rows] == ["2026-08", "2026-09", "2026-10"]
    quarters = backtest(Scope(user=people["rep"]), period="quarter", today=TODAY)
    assert [r.period for r in quarters.rows] == ["2026-Q3"]


def test_query_count_does_not_grow_with_the_deals(people, backtest_world):
    scope = Scope(user=people["rep"])
    backtest(scope, **RANGE)  # the viewer's role and teams, read once
    with CaptureQueriesContext(connection) as few:
        backtest(scope, **RANGE)
    for i in range(5):
        deal = make_deal(people["rep"], "Contact", amount="100.00", close="2026-09-30")
        Deal.objects.filter(pk=deal.pk).update(created_at=at("2026-08-02"))
        history(deal, ("Contact", "2026-08-0" + str(i + 2)))
    with CaptureQueriesContext(connection) as more:
        backtest(scope, **RANGE)
    assert len(more) == len(few)


def test_command_prints_the_table_and_summary(people, backtest_world):
    out = StringIO()
    call_command(
        "backtest_forecast",
        "--owner",
        str(people["rep"].pk),
        "--since",
        "2026-09-01",
        "--until",
        "2026-10-31",
        stdout=out,
    )
    text = out.getvalue()
    assert "2026-09" in text
    assert "2026-10" in text
    assert "-41.0%" in text  # October's configured error
    assert "Brier score" in text
    assert "configured 0.2575" in text
