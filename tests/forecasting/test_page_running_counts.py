"""The dashboard page's won per period and closed-deal cards read from the closed deals' day
sums (PostgreSQL) give exactly the figures read from the deals, for every viewer, team, owner
and currency, by month and by quarter, with deals won either side of midnight at a period's
end, reopened and trashed; and they cost the page a query less."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Team
from currencies import services
from deals.models import Deal
from deals.services.trash import archive_and_delete
from forecasting.analytics import Scope, accuracy, by_period
from tests.factories import (
    DealFactory,
    PipelineFactory,
    StageFactory,
    default_pipeline,
    lost_reason_entry,
)
from tests.forecasting.conftest import RUNNING_COUNTS_ONLY, TODAY, at, make_deal

pytestmark = [pytest.mark.django_db, RUNNING_COUNTS_ONLY]

CLOSED_RANGE = (dt.date(2026, 8, 1), TODAY)
WINDOW = {"since": dt.date(2026, 7, 1), "until": dt.date(2026, 12, 31)}


def _won(owner, won_at: dt.datetime, **fields) -> Deal:
    return make_deal(owner, "Closed", created="2026-06-01", won_at=won_at, **fields)


@pytest.fixture
def closed_world(people, forecast_world):
    """The forecast world, and closed deals around it: in euros (with a rate) and pounds
    (without), without an amount, won a second before and at midnight of 1 October (a month's
    and a quarter's first day), in another pipeline, lost for a reason, reopened, trashed."""
    rep, teammate, outsider = people["rep"], people["teammate"], people["outsider"]
    services.set_rate(
        by=people["admin"], currency="EUR", rate="1.10", valid_from=dt.date(2026, 1, 1)
    )
    _won(rep, dt.datetime(2026, 9, 30, 23, 59, 59, tzinfo=dt.UTC), amount="100.10")
    _won(teammate, at("2026-10-01", 0), amount="200.20")
    _won(rep, at("2026-10-20"), amount="300.30", currency="EUR")
    _won(teammate, at("2026-08-12"), amount="400.40", currency="GBP")
    _won(rep, at("2026-11-02"), amount=None)
    _won(outsider, at("2026-10-05"), amount="500.50")
    _won(rep, at("2026-07-03"), amount="50.05")  # in the window, before the closed range
    make_deal(
        teammate,
        "Proposal",
        status=Deal.Status.LOST,
        lost_at=at("2026-09-14"),
        lost_reason=lost_reason_entry("Timing"),
        currency="EUR",
    )
    renewals = PipelineFactory(name="Renewals")
    DealFactory(
        owner=rep,
        pipeline=renewals,
        stage=StageFactory(pipeline=renewals, name="Renewed", kind="won"),
        status=Deal.Status.WON,
        amount=Decimal("4000.00"),
        won_at=at("2026-10-11"),
    )
    reopened_won = _won(rep, at("2026-10-09"), amount="600.60")
    reopened_won.status, reopened_won.won_at = Deal.Status.OPEN, None
    reopened_won.save()
    reopened_lost = make_deal(
        rep, "Contact", status=Deal.Status.LOST, lost_at=at("2026-10-09"), amount="70.00"
    )
    reopened_lost.status, reopened_lost.lost_at = Deal.Status.OPEN, None
    reopened_lost.save()
    archive_and_delete(_won(teammate, at("2026-10-10"), amount="900.90"), by=people["admin"])


def _scopes(people):
    team = Team.objects.get(name="Team A")
    for user in (people["admin"], people["manager"], people["rep"]):
        for currency in ("", "USD", "EUR"):
            yield Scope(user=user, currency=currency)
        yield Scope(user=user, team=team)
        yield Scope(user=user, owner=people["teammate"])


def _page_figures(scope, period, pipeline):
    """What the page shows of the won and closed deals, and the backtest's won per period."""
    forecast = by_period.forecast(
        scope,
        period=period,
        today=TODAY,
        closed_range=CLOSED_RANGE,
        closed_pipeline=pipeline,
        **WINDOW,
    )
    first, last = forecast.first, forecast.last
    won = accuracy.won_by_period(scope, first, last, period)
    return forecast.as_dict(), forecast.closed, forecast.current.won, won


def test_the_pages_won_and_closed_figures_from_the_running_counts_equal_the_deals(
    people, closed_world, monkeypatch
):
    pipelines = (None, default_pipeline())
    checked = 0
    for scope in _scopes(people):
        for period in ("month", "quarter"):
            for pipeline in pipelines:
                kept = _page_figures(scope, period, pipeline)
                with monkeypatch.context() as patch:
                    patch.setattr(by_period, "running_counts_kept", lambda: False)
                    patch.setattr(accuracy, "running_counts_kept", lambda: False)
                    counted = _page_figures(scope, period, pipeline)
                assert kept == counted
                checked += bool(kept[1]["won"] and kept[1]["lost"])
    assert checked > 0


def test_the_running_counts_put_a_deal_won_at_midnight_in_its_own_period(people, closed_world):
    scope = Scope(user=people["admin"], currency="USD")
    figures, closed, _, won = _page_figures(scope, "month", None)
    months = {row["period"]: row for row in figures["periods"]}
    assert months["2026-09"]["won"] == "100.10"  # 23:59:59 on 30 September
    # 1 October at midnight, the outsider's deal, the renewal; not the reopened or trashed one
    assert months["2026-10"]["won"] == "4700.70"
    assert months["2026-10"]["won_deals"] == 3
    assert won[dt.date(2026, 10, 1)] == Decimal("4700.70")
    # From 1 August, in dollars: six won (d6, 30 September, 1 October, the outsider's, the
    # renewal, one without an amount), one lost (d7; the Timing loss is in euros).
    assert (closed["won"], closed["lost"]) == (6, 1)
    assert closed["average_deal_size"] == Decimal("6000.80") / 5


def test_the_page_reads_won_and_lost_in_one_query_less_than_from_the_deals(
    client, people, closed_world, monkeypatch, django_assert_max_num_queries
):
    client.force_login(people["admin"])
    url = "/forecast/?since=2026-07-01&until=2026-12-31"
    assert client.get(url).status_code == 200  # rates and settings cached
    with monkeypatch.context() as patch:
        patch.setattr(by_period, "running_counts_kept", lambda: False)
        with CaptureQueriesContext(connection) as from_deals:
            assert client.get(url).status_code == 200
    with django_assert_max_num_queries(len(from_deals.captured_queries) - 1) as from_days:
        assert client.get(url).status_code == 200
    assert any("forecasting_closedday" in q["sql"] for q in from_days.captured_queries)
