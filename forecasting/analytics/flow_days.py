"""The funnel's stage flow read from its running counts (StageFlowDay, PostgreSQL), so a range
of 90 days costs some thousand day rows instead of every move made in it.

The counts are kept per stage, the deal's pipeline, owner and currency, and local day of the
entry (migration forecasting/0004), so they answer every scope exactly: its owners, pipeline and
currencies filter the rows. What they cannot give alone is taken from the moves themselves in
the same statement:
- A deal counts once per stage, at its first entry in the range: the rows count every entry,
  so the few re-entries of the range (entries whose previous entry into that stage is in the
  range too) are counted from the moves (a partial index holds only re-entries) and taken off.
- Median and 90th percentile of the completed stays: exact percentiles do not add up. When the
  range holds few stays (`EXACT_STAYS_LIMIT`) they are computed exactly from the moves; above,
  from the stay-length histogram of the rows (buckets 5 % wide, linear inside a bucket), so
  they are off by less than one bucket: under 5 %, or 0.1 day for stays shorter than that.
The closed-deal figures and lost reasons come from the closed deals' day sums (ClosedDay) and
the open deals' count from the board's column totals, kept the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import QuerySet, Sum

from deals.models import Deal, LostReason, StageChange
from forecasting.analytics.closed_deals import (
    added_up,
    closed_day_rows,
    closed_day_sums,
    closed_result,
)
from forecasting.analytics.scope import (
    Row,
    Scope,
    day_bounds,
    roomy_sort,
    scoped_closed_days,
    scoped_column_totals,
    scoped_flow_days,
)
from forecasting.models import (
    BUCKET_RATIO,
    FIRST_BUCKET_SECONDS,
    STAY_BUCKET_COLUMNS,
    STAY_BUCKETS,
)

if TYPE_CHECKING:
    from deals.models import Pipeline

# Per stage: stage id, deals that entered, of which advanced, median and 90th percentile of the
# completed stays in seconds, completed stays.
FlowRow = tuple[int, int, int, float | None, float | None, int]

# Up to this many completed stays in the range (all stages together), exact percentiles.
EXACT_STAYS_LIMIT = 20_000


def bucket_bounds(k: int) -> tuple[float, float]:
    """The stay lengths (seconds) histogram bucket `k` holds: [low, high)."""
    if k == 0:
        return 0.0, float(FIRST_BUCKET_SECONDS)
    low = FIRST_BUCKET_SECONDS * BUCKET_RATIO ** (k - 1)
    return low, (math.inf if k == STAY_BUCKETS - 1 else low * BUCKET_RATIO)


def histogram_percentile(counts: Sequence[int], fraction: float) -> float | None:
    """The percentile of the stays counted per bucket, the way percentile_cont ranks them
    (position fraction × (n − 1)), taking a bucket's stays as spread evenly across it."""
    total = sum(counts)
    if total <= 0:
        return None
    position = fraction * (total - 1)
    seen = 0
    for k, n in enumerate(counts):
        if n > 0 and position < seen + n:
            low, high = bucket_bounds(k)
            if math.isinf(high):
                return low
            return low + (high - low) * min(1.0, (position - seen + 0.5) / n)
        seen += n
    return None


def _day_sums(
    scope: Scope, pipeline: Pipeline, stage_ids: list[int], since: dt.date, until: dt.date
) -> QuerySet[Any]:
    """Per stage of the range's day rows in scope: entries, advanced, stays, the histogram."""
    return (
        scoped_flow_days(scope)
        .filter(pipeline=pipeline, stage__in=stage_ids, day__gte=since, day__lte=until)
        .values("stage")
        .annotate(
            n_entered=Sum("entered"),
            n_advanced=Sum("advanced"),
            n_stays=Sum("stays"),
            **{f"n_{column}": Sum(column) for column in STAY_BUCKET_COLUMNS},
        )
        .order_by()
    )


# The day rows' sums per stage, less the range's re-entries, with exact percentiles when the
# range holds few stays: table names and the ORM's own SQL are pasted in, every value is a
# parameter.
FLOW_SQL = """
        WITH sums AS ({sums}),
        again AS (
            SELECT sc.to_stage_id AS stage_id, COUNT(*) AS n,
                   COUNT(*) FILTER (WHERE sc.advanced) AS advanced
            FROM {moves} sc
            WHERE sc.entered_before IS NOT NULL AND sc.entered_before >= %s
              AND sc.to_stage_id = ANY(%s) AND sc.at >= %s AND sc.at < %s
              AND sc.deal_id IN ({deals})
            GROUP BY 1
        ),
        exact AS (
            SELECT sc.to_stage_id AS stage_id,
                   percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
                       ORDER BY EXTRACT(EPOCH FROM (sc.left_at - sc.at))::float8) AS quantiles
            FROM {moves} sc
            WHERE (SELECT COALESCE(SUM(n_stays), 0) FROM sums) <= %s
              AND sc.left_at IS NOT NULL
              AND sc.to_stage_id = ANY(%s) AND sc.at >= %s AND sc.at < %s
              AND sc.deal_id IN ({deals})
            GROUP BY 1
        )
        SELECT sums.*, again.n, again.advanced, exact.quantiles
        FROM sums
        LEFT JOIN again ON again.stage_id = sums.stage
        LEFT JOIN exact ON exact.stage_id = sums.stage
        WHERE sums.n_entered > 0
"""


def stage_flow_from_days(
    stage_ids: list[int],
    scope: Scope,
    pipeline: Pipeline,
    deals: QuerySet[Deal],
    days: tuple[dt.date, dt.date],
) -> list[FlowRow]:
    """The funnel's flow rows (see stage_flow._stage_flow) over the days `days` (inclusive) in
    one statement: the day rows' sums, less the range's re-entries, and exact percentiles when
    the range holds few stays."""
    since, until = days
    start, end = day_bounds(since, until)
    sums_sql, sums_params = _day_sums(
        scope, pipeline, stage_ids, since, until
    ).query.sql_with_params()
    deal_sql, deal_params = deals.values("pk").query.sql_with_params()
    sql = FLOW_SQL.format(sums=sums_sql, moves=StageChange._meta.db_table, deals=deal_sql)
    params = [
        *sums_params,
        *(start, stage_ids, start, end, *deal_params),
        *(EXACT_STAYS_LIMIT, stage_ids, start, end, *deal_params),
    ]
    with roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_flow_row(row) for row in cursor.fetchall()]


def _flow_row(row: Sequence[Any]) -> FlowRow:
    """One stage's figures from the statement's row: stage, entered, advanced, stays, the
    histogram, re-entries and their advanced ones, exact quantiles (or NULL)."""
    stage_id, entered, advanced, stays = (int(value or 0) for value in row[:4])
    histogram = [int(n or 0) for n in row[4 : 4 + STAY_BUCKETS]]
    again, again_advanced, quantiles = row[4 + STAY_BUCKETS :]
    if quantiles is not None:
        median, p90 = quantiles
    else:
        median, p90 = histogram_percentile(histogram, 0.5), histogram_percentile(histogram, 0.9)
    return (
        stage_id,
        entered - int(again or 0),
        advanced - int(again_advanced or 0),
        median,
        p90,
        stays,
    )


def closed_from_days(
    scope: Scope, pipeline: Pipeline, stage_ids: list[int], days: tuple[dt.date, dt.date]
) -> tuple[dict[str, Any], list[Row]]:
    """The funnel's closed-deal figures (`closed_deals.closed_result`) over the days `days`
    (inclusive), and its lost deals per stage and reason (rows of stage, lost_reason__name, n),
    from the closed deals' day sums (one query: `closed_day_sums`, the page's rule too) and
    the open deals of its stages from the board's column totals (one query)."""
    aggregates = closed_day_sums(*days, pipeline)
    sums = (
        scoped_closed_days(scope)
        .filter(closed_day_rows(*days, pipeline))
        .values("status", "stage", "lost_reason_id")
        .annotate(n=Sum("deals"), **aggregates)
        .order_by()
    )
    rows = _with_reason_names(sums)
    open_deals = (
        scoped_column_totals(scope)
        .filter(stage__in=stage_ids, status=Deal.Status.OPEN)
        .aggregate(n=Sum("deals"))["n"]
    )
    figures = added_up(rows, aggregates) | {"c_open": open_deals or 0}
    lost: list[Row] = [row for row in rows if row["status"] == Deal.Status.LOST and row["n"]]
    return closed_result(figures, days, pipeline), lost


def _with_reason_names(sums: QuerySet[Any]) -> list[dict[str, Any]]:
    """The rows of `sums` (with a `lost_reason_id`), each with its reason's name as
    `lost_reason__name`, joined once the rows are summed (a subquery would run for each day
    row)."""
    sums_sql, params = sums.query.sql_with_params()
    sql = (
        f"SELECT sums.*, reason.name AS lost_reason__name FROM ({sums_sql}) sums "  # noqa: S608
        f"LEFT JOIN {LostReason._meta.db_table} reason ON reason.id = sums.lost_reason_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description or ()]
        rows: list[dict[str, Any]] = [
            dict(zip(names, row, strict=True)) for row in cursor.fetchall()
        ]
    for row in rows:  # sums of bigint columns come back as numeric
        row["n"] = int(row["n"] or 0)
    return rows
