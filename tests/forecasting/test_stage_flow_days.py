"""The funnel's running counts (`forecasting.models.StageFlowDay`, kept by PostgreSQL triggers)
always equal the moves counted afresh, whatever changes them; the funnel read from them gives
the figures of the moves themselves; and its histogram percentiles stay within one bucket of
the exact ones."""

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from deals.models import Deal, DeletedDeal, StageChange
from deals.services.trash import archive_and_delete, restore_deals
from forecasting import services
from forecasting.analytics import Scope, day_bounds, scoped_deals
from forecasting.analytics import flow_days as flow_days_module
from forecasting.analytics.flow_days import bucket_bounds, stage_flow_from_days
from forecasting.analytics.stage_flow import _stage_flow_sql
from forecasting.models import STAY_BUCKET_COLUMNS, STAY_BUCKETS, ClosedDay, StageFlowDay
from pipeline_crm.db import bulk_insert
from tests.factories import (
    PipelineFactory,
    StageFactory,
    default_pipeline,
    lost_reason_entry,
    stage_named,
)
from tests.forecasting.conftest import TODAY, at, history, make_deal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the running counts are PostgreSQL's"
    ),
]

RECOUNT = """
    SELECT c.to_stage_id, (c.at AT TIME ZONE %s)::date, d.owner_id, d.currency, d.pipeline_id,
           COUNT(*), COUNT(*) FILTER (WHERE c.advanced),
           array_agg(EXTRACT(EPOCH FROM (c.left_at - c.at))::float8)
    FROM deals_stagechange c JOIN deals_deal d ON d.id = c.deal_id
    WHERE c.to_stage_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
"""


def bucket_of(seconds: float) -> int:
    return next(k for k in range(STAY_BUCKETS) if seconds < bucket_bounds(k)[1])


def recounted(zone: str = "UTC") -> dict[tuple, tuple]:
    """Per key: entries, advanced, completed stays and their histogram, from the moves."""
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT, [zone])
        for stage, day, owner, currency, pipeline, entered, advanced, stays in cursor.fetchall():
            histogram: dict[int, int] = defaultdict(int)
            for seconds in stays:
                if seconds is not None:
                    histogram[bucket_of(seconds)] += 1
            done = sum(histogram.values())
            counts[(stage, day, owner, currency, pipeline)] = (
                entered,
                advanced,
                done,
                dict(histogram),
            )
    return counts


def kept() -> dict[tuple, tuple]:
    rows = StageFlowDay.objects.values_list(
        "stage_id",
        "day",
        "owner_id",
        "currency",
        "pipeline_id",
        "entered",
        "advanced",
        "stays",
        *STAY_BUCKET_COLUMNS,
    )
    counts = {}
    for row in rows:
        histogram = {k: n for k, n in enumerate(row[8:]) if n}
        if any(row[5:8]) or histogram:
            counts[row[:5]] = (*row[5:8], histogram)
    return counts


def _same(zone: str = "UTC"):
    counts = kept()
    assert counts == recounted(zone)
    return counts


def test_the_day_counts_follow_every_change_of_the_history(people):
    rep, teammate, admin = people["rep"], people["teammate"], people["admin"]
    deal = make_deal(rep, "Proposal")
    history(deal, ("Prospecting", "2026-10-01"), ("Qualification", "2026-10-03"))
    counts = _same()
    prospecting = (stage_named("Prospecting").pk, dt.date(2026, 10, 1), rep.pk, "USD")
    assert counts[(*prospecting, default_pipeline().pk)][:3] == (1, 1, 1)
    history(deal, ("Prospecting", "2026-10-05"), ("Proposal", "2026-10-09"))  # re-entry
    _same()
    Deal.objects.filter(pk=deal.pk).update(owner=teammate)
    _same()
    Deal.objects.filter(pk=deal.pk).update(currency="EUR")
    _same()
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.LOST, lost_at=at("2026-10-20"))
    _same()  # the last stay ended when it was lost
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.OPEN, lost_at=None)
    _same()
    other = PipelineFactory()
    Deal.objects.filter(pk=deal.pk).update(pipeline=other, stage=StageFactory(pipeline=other))
    _same()
    Deal.objects.filter(pk=deal.pk).update(pipeline=default_pipeline(), stage=stage_named("Closed"))
    StageChange.objects.filter(deal=deal, to_stage=stage_named("Qualification")).delete()
    _same()  # the stay before it now ends later, and went further still
    StageChange.objects.filter(deal=deal).update(at=at("2026-09-01"))
    _same()
    extra = StageFactory(pipeline=default_pipeline(), name="Extra", order=99)
    StageChange.objects.create(deal=deal, to_stage=extra, at=at("2026-10-25"))
    _same()
    extra.delete()  # its moves lose their stage
    before = _same()
    assert any(key[2] == teammate.pk for key in before)
    deal.refresh_from_db()
    entry = archive_and_delete(deal, by=admin)
    assert not any(key[2] == teammate.pk for key in _same())
    restore_deals(entries=[DeletedDeal.objects.get(pk=entry.pk)], by=admin)
    assert _same() == before


def test_one_statement_of_many_moves_is_counted_like_one_move_at_a_time(people):
    deals = [make_deal(people["rep"], "Proposal") for _ in range(3)]
    bulk_insert(
        StageChange,
        [
            {"deal_id": deal.pk, "to_stage_id": stage_named(name).pk, "at": at(day, hour)}
            for deal in deals
            for name, day, hour in (
                ("Prospecting", "2026-10-01", 9),
                ("Contact", "2026-10-01", 17),
                ("Prospecting", "2026-10-02", 9),
            )
        ],
    )
    counts = _same()
    key = (stage_named("Prospecting").pk, dt.date(2026, 10, 1), people["rep"].pk, "USD")
    assert counts[(*key, default_pipeline().pk)][:3] == (3, 3, 3)
    StageChange.objects.filter(deal__in=deals[:2]).delete()
    _same()


def test_the_counts_can_be_rebuilt_after_a_write_that_bypassed_the_triggers(people):
    deal = make_deal(people["rep"], "Proposal", status=Deal.Status.LOST, lost_at=at("2026-10-09"))
    history(deal, ("Prospecting", "2026-10-01"), ("Proposal", "2026-10-03"))
    counts, closed = _same(), _same_closed()
    StageFlowDay.objects.all().delete()
    ClosedDay.objects.update(deals=7)
    call_command("rebuild_funnel_counts", stdout=StringIO())
    assert (_same(), _same_closed()) == (counts, closed)


def test_days_are_the_local_days_of_the_site_time_zone(people):
    deal = make_deal(people["rep"], "Proposal")
    StageChange.objects.create(deal=deal, to_stage=stage_named("Contact"), at=at("2026-10-02", 2))
    with override_settings(TIME_ZONE="America/New_York"):
        assert services.keep_rollup_time_zone()
        assert not services.keep_rollup_time_zone()  # nothing changed since
        counts = _same("America/New_York")
        assert {key[1] for key in counts} == {dt.date(2026, 10, 1)}  # 22:00 the day before
        with timezone.override("America/New_York"):
            _funnel_rows_agree(people["admin"], TODAY - dt.timedelta(days=60), TODAY)
    assert services.keep_rollup_time_zone()
    assert {key[1] for key in _same()} == {dt.date(2026, 10, 2)}


CLOSED_RECOUNT = """
    SELECT d.pipeline_id, (CASE d.status WHEN 'won' THEN d.won_at ELSE d.lost_at END)::date,
           d.status, d.owner_id, d.currency, d.stage_id,
           CASE d.status WHEN 'lost' THEN COALESCE(d.lost_reason_id, 0) ELSE 0 END,
           COUNT(*), COALESCE(SUM(d.amount), 0), COUNT(d.amount),
           COALESCE(SUM(d.won_at - d.created_at) FILTER (WHERE d.status = 'won'), interval '0')
    FROM deals_deal d
    WHERE (d.status = 'won' AND d.won_at IS NOT NULL)
       OR (d.status = 'lost' AND d.lost_at IS NOT NULL)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


def _same_closed():
    with connection.cursor() as cursor:
        cursor.execute(CLOSED_RECOUNT)
        counted = {tuple(row[:7]): tuple(row[7:]) for row in cursor.fetchall()}
    keys = ["pipeline_id", "day", "status", "owner_id", "currency", "stage_id", "lost_reason_id"]
    rows = ClosedDay.objects.values_list(*keys, "deals", "amount", "with_amount", "cycle")
    kept = {row[:7]: row[7:] for row in rows if row[7] or row[8] or row[9] or row[10]}
    assert kept == counted
    return kept


def test_the_closed_sums_follow_every_change_of_the_deals(people):
    rep, teammate, admin = people["rep"], people["teammate"], people["admin"]
    won = make_deal(rep, "Closed", amount="1200.00", won_at=at("2026-10-03"), created="2026-09-01")
    lost = make_deal(
        teammate,
        "Proposal",
        status=Deal.Status.LOST,
        lost_at=at("2026-10-05"),
        lost_reason=lost_reason_entry("Price"),
    )
    make_deal(rep, "Proposal")  # open: not counted
    assert len(_same_closed()) == 2
    changes = [
        (won, {"amount": Decimal("1500.00")}),
        (won, {"amount": None}),
        (won, {"currency": "EUR", "owner": teammate}),
        (won, {"won_at": at("2026-10-09")}),
        (won, {"created_at": at("2026-08-01")}),
        (lost, {"lost_reason": lost_reason_entry("Timing")}),
        (lost, {"stage": stage_named("Negotiation")}),
        (lost, {"status": Deal.Status.OPEN, "lost_at": None}),  # reopened
        (lost, {"status": Deal.Status.WON, "won_at": at("2026-10-12")}),
    ]
    for deal, fields in changes:
        Deal.objects.filter(pk=deal.pk).update(**fields)
        _same_closed()
    other = PipelineFactory()
    Deal.objects.filter(pk=won.pk).update(pipeline=other, stage=StageFactory(pipeline=other))
    assert {key[0] for key in _same_closed()} == {default_pipeline().pk, other.pk}
    lost.refresh_from_db()
    entry = archive_and_delete(lost, by=admin)
    assert len(_same_closed()) == 1
    restore_deals(entries=[DeletedDeal.objects.get(pk=entry.pk)], by=admin)
    assert len(_same_closed()) == 2


def _funnel_rows_agree(user, since, until):
    pipeline = default_pipeline()
    scope = Scope(user=user, pipeline=pipeline)
    deals = scoped_deals(scope).filter(pipeline=pipeline)
    stage_ids = list(pipeline.stages.values_list("pk", flat=True))
    expected = sorted(_stage_flow_sql(stage_ids, deals, *day_bounds(since, until)))
    assert sorted(stage_flow_from_days(stage_ids, scope, pipeline, deals, (since, until))) == (
        expected
    )
    return expected


def _random_history(owners, count: int, seed: int) -> None:
    """`count` deals each moving through the first stages with random stays (minutes to a
    year), some going back a stage, written in one statement."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order")[:4])
    deals = [make_deal(owners[i % len(owners)], "Prospecting") for i in range(count)]
    rows = []
    for deal in deals:
        moment = dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=400)
        moment += dt.timedelta(days=rng.uniform(0, 300))
        for index in [0, 1, 2, 1, 3][: rng.randint(1, 5)]:
            rows.append({"deal_id": deal.pk, "to_stage_id": stages[index].pk, "at": moment})
            moment += dt.timedelta(seconds=rng.lognormvariate(12.5, 1.6))
    bulk_insert(StageChange, rows)


def test_the_funnel_from_the_day_counts_equals_the_moves_figures(people):
    _random_history([people["rep"], people["teammate"], people["outsider"]], 120, seed=4)
    since = TODAY - dt.timedelta(days=250)
    for user in (people["admin"], people["manager"], people["rep"]):
        rows = _funnel_rows_agree(user, since, TODAY - dt.timedelta(days=60))
        assert sum(entered for _, entered, *_ in rows) > 0


def test_histogram_percentiles_stay_within_one_bucket_of_the_exact_ones(people, monkeypatch):
    _random_history([people["rep"], people["teammate"]], 1500, seed=7)
    pipeline = default_pipeline()
    scope = Scope(user=people["admin"], pipeline=pipeline)
    deals = scoped_deals(scope).filter(pipeline=pipeline)
    stage_ids = list(pipeline.stages.values_list("pk", flat=True))
    days = (TODAY - dt.timedelta(days=380), TODAY)
    exact = {row[0]: row for row in stage_flow_from_days(stage_ids, scope, pipeline, deals, days)}
    monkeypatch.setattr(flow_days_module, "EXACT_STAYS_LIMIT", 0)
    binned = stage_flow_from_days(stage_ids, scope, pipeline, deals, days)
    assert len(binned) == len(exact) >= 3
    assert sum(1 for row in binned if row[3] is not None) >= 3
    assert any(row[3] != exact[row[0]][3] for row in binned)  # the histogram's, not exact
    for stage_id, entered, advanced, median, p90, stays in binned:
        assert (entered, advanced, stays) == (*exact[stage_id][1:3], exact[stage_id][5])
        for got, want in ((median, exact[stage_id][3]), (p90, exact[stage_id][4])):
            if want is None:  # no completed stay
                assert got is None
                continue
            low, high = bucket_bounds(bucket_of(want))
            assert abs(got - want) <= high - low
