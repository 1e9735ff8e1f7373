"""The funnel read from the stored stay ends (StageChange.left_at, .advanced) and from the
running day counts (StageFlowDay) equals the old window-function pass over the whole history,
and the Python walk, on random histories."""

import datetime as dt

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deals import services
from deals.models import Deal, Stage, StageChange
from forecasting.analytics import Scope, day_bounds, scoped_deals
from forecasting.analytics.flow_days import stage_flow_from_days
from forecasting.analytics.stage_flow import (
    FunnelStage,
    _stage_flow_python,
    _stage_flow_sql,
)
from pipeline_crm.db import bulk_insert, is_postgresql
from tests.factories import DealFactory, PipelineFactory, StageFactory
from tests.forecasting.conftest import TODAY

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not is_postgresql(), reason="the stored columns are PostgreSQL's"),
]

# What stage_flow ran before the columns were stored: each stay's end and the furthest stage
# reached afterwards found by window functions over every move since the range's start.
WINDOW_SQL = """
    WITH changes AS (
        SELECT sc.deal_id, sc.to_stage_id AS stage_id, sc.at AS entered_at,
               st."order" AS stage_order,
               COALESCE(LEAD(sc.at) OVER w, d.lost_at) AS left_at,
               MAX(st."order") OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
                   AS later_order
        FROM deals_stagechange sc
        JOIN deals_deal d ON d.id = sc.deal_id
        LEFT JOIN deals_stage st ON st.id = sc.to_stage_id AND st.pipeline_id = %s
        WHERE sc.at >= %s AND d.pipeline_id = %s
        WINDOW w AS (PARTITION BY sc.deal_id ORDER BY sc.at, sc.id)
    ), entries AS (
        SELECT deal_id, stage_id, stage_order, later_order,
               EXTRACT(EPOCH FROM (left_at - entered_at))::float8 AS seconds
        FROM changes
        WHERE stage_id = ANY(%s) AND entered_at >= %s AND entered_at < %s
    )
    SELECT stage_id,
           COUNT(DISTINCT deal_id),
           COUNT(DISTINCT deal_id) FILTER (WHERE later_order > stage_order),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
           percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds),
           COUNT(seconds)
    FROM entries GROUP BY stage_id
"""

# A move: (stage index — 0–3 the funnel's pipeline, 4–5 another one —, day, hour).
move_st = st.tuples(st.integers(0, 5), st.integers(-12, 0), st.sampled_from([0, 0, 9, 17]))
deal_st = st.fixed_dictionaries(
    {
        "moves": st.lists(move_st, min_size=1, max_size=8),
        "lost_day": st.one_of(st.none(), st.integers(-12, 0)),
        "bulk": st.booleans(),  # one COPY (imports, demo) or one INSERT a move (services)
    }
)


def window_rows(pipeline, stage_ids, start, end):
    with connection.cursor() as cursor:
        cursor.execute(WINDOW_SQL, [pipeline.pk, start, pipeline.pk, stage_ids, start, end])
        return sorted(cursor.fetchall())


def rounded(rows):
    return sorted(
        (s, e, a, None if m is None else round(m, 3), None if p is None else round(p, 3), n)
        for s, e, a, m, p, n in rows
    )


def moment(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(TODAY + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def write_history(deal: Deal, moves, stages: list[Stage], *, bulk: bool) -> None:
    rows = [
        {
            "deal_id": deal.pk,
            "to_stage_id": stages[i].pk,
            "to_stage_name": stages[i].name,
            "at": moment(day, hour),
        }
        for i, day, hour in moves
    ]
    if bulk:
        bulk_insert(StageChange, rows)
    else:
        for row in rows:
            StageChange.objects.create(**row)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    deals=st.lists(deal_st, min_size=1, max_size=10),
    since=st.integers(-12, 0),
    days=st.integers(0, 12),
    reorder=st.permutations(range(4)),
)
def test_stored_stay_ends_give_the_window_functions_figures(
    admin_user, deals, since, days, reorder
):
    with transaction.atomic():
        pipeline, other = PipelineFactory(), PipelineFactory()
        stages = [StageFactory(pipeline=pipeline, order=i + 1) for i in range(4)]
        stages += [StageFactory(pipeline=other, order=i + 1) for i in range(2)]
        for d in deals:
            lost_at = None if d["lost_day"] is None else moment(d["lost_day"], 12)
            deal = DealFactory(
                pipeline=pipeline,
                stage=stages[0],
                owner=admin_user,
                status=Deal.Status.LOST if lost_at else Deal.Status.OPEN,
                lost_at=lost_at,
            )
            write_history(deal, d["moves"], stages, bulk=d["bulk"])
        services.reorder_stages(
            pipeline=pipeline, by=admin_user, stage_ids=[stages[i].pk for i in reorder]
        )
        funnel_stages = {
            s.pk: FunnelStage(s.pk, s.name, s.order, s.kind)
            for s in Stage.objects.filter(pipeline=pipeline).order_by("order")
        }
        first, last = TODAY + dt.timedelta(days=since), TODAY + dt.timedelta(days=since + days)
        start, end = day_bounds(first, last)
        scope = Scope(user=admin_user, pipeline=pipeline)
        scoped = scoped_deals(scope)
        expected = window_rows(pipeline, list(funnel_stages), start, end)
        assert sorted(_stage_flow_sql(list(funnel_stages), scoped, start, end)) == expected
        from_days = stage_flow_from_days(
            list(funnel_stages), scope, pipeline, scoped, (first, last)
        )
        assert sorted(from_days) == expected
        walked = _stage_flow_python(funnel_stages, scoped, start, end)
        assert rounded(walked) == rounded(expected)
        transaction.set_rollback(True)
