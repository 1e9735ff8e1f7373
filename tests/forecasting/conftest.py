"""Small worlds with hand-computed figures for the forecasting tests."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Team
from deals.models import Deal, FieldChange, StageChange
from forecasting.models import Quota
from forecasting.services import take_snapshot
from tests.factories import DealFactory, default_pipeline, lost_reason_entry, stage_named

TODAY = dt.date(2026, 11, 15)

# The running counts are kept by PostgreSQL triggers: tests of them skip elsewhere.
RUNNING_COUNTS_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the running counts are PostgreSQL's"
)


def at(day: str, hour: int = 9) -> dt.datetime:
    """An aware datetime on an ISO day."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def make_deal(owner, stage: str, *, amount="1000.00", close=None, created=None, **fields) -> Deal:
    """A deal in `stage` of the default pipeline, optionally created on a given day."""
    stage_obj = stage_named(stage)
    status = fields.pop("status", Deal.Status.OPEN if stage_obj.kind == "open" else Deal.Status.WON)
    deal = DealFactory(
        owner=owner,
        pipeline=default_pipeline(),
        stage=stage_obj,
        status=status,
        amount=None if amount is None else Decimal(amount),
        expected_close_date=dt.date.fromisoformat(close) if close else None,
        **fields,
    )
    if created:
        Deal.objects.filter(pk=deal.pk).update(created_at=at(created, 0))
        deal.refresh_from_db()
    return deal


def history(deal: Deal, *moves: tuple[str, str]) -> None:
    """StageChange rows for a deal: (stage name, ISO day) in order, the first from nowhere."""
    previous = None
    for name, day in moves:
        stage = stage_named(name)
        StageChange.objects.create(
            deal=deal,
            from_stage=previous,
            to_stage=stage,
            from_stage_name=previous.name if previous else "",
            to_stage_name=stage.name,
            at=at(day, 0),
        )
        previous = stage


def closed_deals_through(owner, stage: str, *, won: int, lost: int) -> None:
    """`won` deals that went through `stage` to Closed and `lost` lost in it, all in August
    2026: the history learned probabilities are computed from."""
    for i in range(won + lost):
        is_won = i < won
        deal = make_deal(
            owner,
            "Closed" if is_won else stage,
            status=Deal.Status.WON if is_won else Deal.Status.LOST,
            close="2026-09-01",
        )
        moves = [("Prospecting", "2026-08-01"), (stage, "2026-08-10")]
        history(deal, *moves, *([("Closed", "2026-08-20")] if is_won else []))


@pytest.fixture
def forecast_world(people):
    """Open, won, lost deals of team A, one of team B and one in euros (see test_figures.py)."""
    rep, teammate, outsider = people["rep"], people["teammate"], people["outsider"]
    deals = {
        "d1": make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20"),
        "d2": make_deal(teammate, "Negotiation", amount="2000.00", close="2026-11-30"),
        "d3": make_deal(
            rep, "Prospecting", amount="500.00", close="2026-12-10", probability_override=80
        ),
        "d4": make_deal(rep, "Contact", amount=None, close="2026-12-01"),
        "d5": make_deal(rep, "Qualification", amount="333.33", close=None),
        "d6": make_deal(
            teammate, "Closed", amount="1200.00", close="2026-11-01", won_at=at("2026-11-03")
        ),
        "d7": make_deal(
            rep,
            "Proposal",
            amount="800.00",
            close="2026-11-25",
            status=Deal.Status.LOST,
            lost_at=at("2026-11-05"),
            lost_reason=lost_reason_entry("Price"),
        ),
        "d8": make_deal(outsider, "Negotiation", amount="9999.00", close="2026-11-15"),
        "d9": make_deal(rep, "Contact", amount="5000.00", close="2026-11-10", currency="EUR"),
    }
    Quota.objects.create(
        team=Team.objects.get(name="Team A"),
        period="month",
        period_start=dt.date(2026, 11, 1),
        amount=Decimal("5000.00"),
    )
    return deals


@pytest.fixture
def funnel_world(people):
    """Five deals with a known history between 1 October and 3 November 2026."""
    rep = people["rep"]
    a = make_deal(rep, "Closed", amount="1000.00", created="2026-10-01", won_at=at("2026-10-28", 0))
    history(
        a,
        ("Prospecting", "2026-10-01"),
        ("Qualification", "2026-10-03"),
        ("Contact", "2026-10-08"),
        ("Proposal", "2026-10-18"),
        ("Closed", "2026-10-28"),
    )
    b = make_deal(
        rep,
        "Qualification",
        amount="500.00",
        created="2026-10-02",
        status=Deal.Status.LOST,
        lost_at=at("2026-10-10", 0),
        lost_reason=lost_reason_entry("No budget"),
    )
    history(b, ("Prospecting", "2026-10-02"), ("Qualification", "2026-10-04"))
    c = make_deal(rep, "Contact", amount="700.00", created="2026-10-05")
    history(
        c, ("Prospecting", "2026-10-05"), ("Qualification", "2026-10-06"), ("Contact", "2026-10-16")
    )
    d = make_deal(
        rep,
        "Proposal",
        amount="2000.00",
        created="2026-10-10",
        status=Deal.Status.LOST,
        lost_at=at("2026-10-29", 0),
        lost_reason=lost_reason_entry("Price"),
    )
    history(d, ("Prospecting", "2026-10-10"), ("Contact", "2026-10-11"), ("Proposal", "2026-10-21"))
    e = make_deal(rep, "Closed", amount="3000.00", created="2026-10-12", won_at=at("2026-11-03", 0))
    history(
        e,
        ("Qualification", "2026-10-12"),
        ("Proposal", "2026-10-14"),
        ("Negotiation", "2026-10-20"),
        ("Closed", "2026-11-03"),
    )
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """People fixtures hash a password each; the fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


SEPTEMBER, OCTOBER = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


def close_deal(deal: Deal, status: str, day: str, stage: str | None = None) -> None:
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
    """Rep's deals for the backtest (September is rebuilt from history, October has a snapshot):
    - A: Proposal (55 %) since August, 1000, due 20 September until pushed to 5 October on
      10 September; won 3 October.
    - B: Negotiation (75 %), 2000, due 25 September; lost 28 September.
    - E: Negotiation (75 %), 300, due 5 September; won 6 September.
    - C: Prospecting (10 %), 400, created 15 September, due 20 October; still open."""
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
    close_deal(b, "lost", "2026-09-28")
    close_deal(e, "won", "2026-09-06", stage="Closed")
    take_snapshot(day=OCTOBER)  # A (still open) and C, as they were on 1 October
    close_deal(a, "won", "2026-10-03", stage="Closed")
    return {"a": a, "b": b, "c": c, "e": e}
