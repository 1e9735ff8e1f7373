"""The funnel and the reps panel read from the running totals (PostgreSQL) give exactly the
figures read from the deals and moves themselves, for every viewer, team, owner and currency,
with configured and learned probabilities."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Team
from currencies import services
from deals.models import Deal
from forecasting.analytics import Scope, reps, stage_flow
from tests.factories import lost_reason_entry
from tests.forecasting.conftest import TODAY, at, closed_deals_through, history, make_deal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the running totals are PostgreSQL's"
    ),
]


@pytest.fixture
def mixed_world(people, forecast_world, funnel_world):
    """The forecast and funnel worlds, closed deals to learn from, deals in euros (with a rate)
    and pounds (without), lost for several reasons in several stages, some stalled."""
    rep, teammate = people["rep"], people["teammate"]
    closed_deals_through(rep, "Proposal", won=3, lost=2)
    closed_deals_through(teammate, "Negotiation", won=1, lost=3)
    services.set_rate(
        by=people["admin"], currency="EUR", rate="1.10", valid_from=dt.date(2026, 1, 1)
    )
    for i, (owner, currency, reason) in enumerate(
        [(rep, "EUR", "Price"), (teammate, "GBP", "Timing"), (teammate, "EUR", "")]
    ):
        deal = make_deal(
            owner,
            "Contact",
            amount=f"{700 + i}.50",
            currency=currency,
            created="2026-10-01",
            status=Deal.Status.LOST if reason else Deal.Status.WON,
            lost_at=at("2026-11-0" + str(i + 2)) if reason else None,
            won_at=None if reason else at("2026-11-04"),
            lost_reason=lost_reason_entry(reason) if reason else None,
        )
        history(deal, ("Prospecting", "2026-10-0" + str(i + 1)), ("Contact", "2026-10-12"))
    stalled = Deal.objects.filter(owner=rep, status=Deal.Status.OPEN).values_list("pk", flat=True)[
        :2
    ]
    Deal.objects.filter(pk__in=list(stalled)).update(stalled=True)


def _both(read, monkeypatch, module):
    """`read()` from the running totals, then from the deals."""
    kept = read()
    with monkeypatch.context() as patch:
        patch.setattr(module, "running_counts_kept", lambda: False)
        counted = read()
    return kept, counted


def _scopes(people):
    team = Team.objects.get(name="Team A")
    for user in (people["admin"], people["manager"], people["rep"], people["outsider"]):
        for currency in ("", "USD", "EUR"):
            yield Scope(user=user, currency=currency)
        yield Scope(user=user, team=team)
        yield Scope(user=user, owner=people["teammate"])


def test_the_funnel_from_the_running_totals_equals_the_deals_figures(
    people, mixed_world, monkeypatch
):
    since, until = dt.date(2026, 8, 1), TODAY
    seen_lost = 0
    for scope in _scopes(people):
        kept, counted = _both(
            lambda s=scope: stage_flow.funnel(s, since=since, until=until).as_dict(),
            monkeypatch,
            stage_flow,
        )
        assert kept == counted
        seen_lost += len(kept["lost_by_stage"])
    assert seen_lost > 0


def test_the_reps_panel_from_the_running_totals_equals_the_deals_figures(
    people, mixed_world, monkeypatch
):
    stalled = 0
    for scope in _scopes(people):
        for probabilities in ("configured", "learned"):
            for period in ("month", "quarter"):
                kept, counted = _both(
                    lambda s=scope, p=probabilities, k=period: reps.rep_figures(
                        s, probabilities=p, period=k, today=TODAY
                    ),
                    monkeypatch,
                    reps,
                )
                assert kept == counted
                stalled += sum(rep.stalled for rep in kept)
                assert all(rep.weighted >= Decimal(0) for rep in kept)
    assert stalled > 0
