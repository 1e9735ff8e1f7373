"""The backtest: each past period's forecast made at its start beside what was won.

The world (rep's deals, team A; September is rebuilt from history, October has a snapshot):
- A: Proposal (55 %) since August, 1000, due 20 September until pushed to 5 October on
  10 September; won 3 October.
- B: Negotiation (75 %), 2000, due 25 September; lost 28 September.
- E: Negotiation (75 %), 300, due 5 September; won 6 September.
- C: Prospecting (10 %), 400, created 15 September, due 20 October; still open.
"""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deals.models import Deal, FieldChange
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.backtest import backtest
from forecasting.analytics.learning import learn_model
from forecasting.analytics.scope import day_bounds
from forecasting.services import take_snapshot
from tests.factories import stage_named
from tests.forecasting.conftest import TODAY, at, history, make_deal

pytestmark = pytest.mark.django_db

SEPTEMBER, OCTOBER = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
RANGE = {"since": SEPTEMBER, "until": dt.date(2026, 10, 31), "today": TODAY}


def _close(deal: Deal, status: str, day: str, stage: str | None = None) -> None:
    """`deal` won or lost on `day` (history rows as the services leave them)."""
    when = at(day)
    FieldChange.objects.create(
        deal=deal, field="status", old_value="open", new_value=status, at=when
    )
    fields = {"status": status, ("won_at" if status == "won" else "lost_at"): when}
    if stage:
        history(deal, (stage, day))
        fields["stage"] = stage_named(stage)
    Deal.objects.filter(pk=deal.pk).update(**fields)


@pytest.fixture
def backtest_world(people):
    rep = people["rep"]
    a = make_deal(rep, "Proposal", amount="1000.00", close="2026-10-05", created="2026-08-01")
    history(a, ("Prospecting", "2026-08-01"), ("Proposal", "2026-08-20"))
    FieldChange.objects.create(
        deal=a,
        field="expected_close_date",
        old_value="2026-09-20",
        new_value="2026-10-05",
        at=at("2026-09-10"),
    )
    b = make_deal(rep, "Negotiation", amount="2000.00", close="2026-09-25", created="2026-08-05")
    history(b, ("Prospecting", "2026-08-05"), ("Negotiation", "2026-08-15"))
    e = make_deal(rep, "Negotiation", amount="300.00", close="2026-09-05", created="2026-08-01")
    history(e, ("Prospecting", "2026-08-01"), ("Negotiation", "2026-08-10"))
    c = make_deal(rep, "Prospecting", amount="400.00", close="2026-10-20", created="2026-09-15")
    history(c, ("Prospecting", "2026-09-15"))
    _close(b, "lost", "2026-09-28")
    _close(e, "won", "2026-09-06", stage="Closed")
    take_snapshot(day=OCTOBER)  # A (still open) and C, as they were on 1 October
    _close(a, "won", "2026-10-03", stage="Closed")
    return {"a": a, "b": b, "c": c, "e": e}


def test_backtest_forecasts_each_period_from_the_pipeline_at_its_start(people, backtest_world):
    result = backtest(Scope(user=people["rep"]), **RANGE)
    september, october = result.rows
    # September, rebuilt from history: A due 20 September then (pushed later), B and E.
    assert (september.period, september.source, september.deals) == ("2026-09", "history", 3)
    assert september.configured == Decimal("550.00") + Decimal("1500.00") + Decimal("225.00")
    assert september.won == Decimal("300.00")
    assert september.configured_error == pytest.approx((2275 - 300) / 300, abs=1e-4)
    # October, from its snapshot: A (due 5 October) and C.
    assert (october.period, october.source, october.deals) == ("2026-10", "snapshot", 2)
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
    _close(late, "won", "2026-09-20", stage="Closed")
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
    assert "2026-09" in text and "2026-10" in text
    assert "-41.0%" in text  # October's configured error
    assert "Brier score" in text and "configured 0.2575" in text
