"""Writes of the forecasting app: quotas and the daily forecast snapshot. One transaction each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import DateField, F, QuerySet, Value

from accounts.models import Team, User
from deals.models import Deal, Pipeline, effective_probability
from forecasting import periods
from forecasting.analytics.as_of import open_at_start_of
from forecasting.analytics.backtest_parts import Part, period_parts
from forecasting.analytics.scope import day_bounds
from forecasting.models import (
    BacktestPart,
    ForecastSnapshot,
    Quota,
    StoredBacktest,
    can_manage_quotas,
    quota_people,
    quota_teams,
)
from forecasting.running_count_sql import (
    MOVE_DAYS_REBUILD,
    PIPELINE_DAYS_REBUILD,
    STAGE_REACH_REBUILD,
)
from pipeline_crm.db import insert_from_select_sql, is_postgresql, serialize_on
from pipeline_crm.errors import DomainError, NotAllowed

# --- quotas --------------------------------------------------------------------------------------


def _check_quota_target(by: User, user: User | None, team: Team | None) -> None:
    if not can_manage_quotas(by):
        raise NotAllowed("Only admins and managers set quotas.")
    if (user is None) == (team is None):
        raise DomainError("Choose either a rep or a team.", field="user")
    if user is not None and not quota_people(by).filter(pk=user.pk).exists():
        raise NotAllowed("You may set quotas only for reps of the teams you manage.")
    if team is not None and not quota_teams(by).filter(pk=team.pk).exists():
        raise NotAllowed("You may set quotas only for the teams you manage.")


@transaction.atomic
def set_quota(
    *,
    by: User,
    period: str,
    period_start: dt.date,
    amount: Decimal,
    user: User | None = None,
    team: Team | None = None,
) -> Quota:
    """Create or replace the quota of a rep or team for one month or quarter."""
    _check_quota_target(by, user, team)
    if period not in Quota.Period.values:
        raise DomainError("Choose month or quarter.", field="period")
    if not periods.is_period_start(period_start, period):
        raise DomainError(f"Use the first day of the {period}.", field="period_start")
    if amount is None or amount < 0:
        raise DomainError("A quota is an amount of zero or more.", field="amount")
    quota, _ = Quota.objects.update_or_create(
        user=user, team=team, period=period, period_start=period_start, defaults={"amount": amount}
    )
    return quota


@transaction.atomic
def update_quota(*, quota: Quota, by: User, amount: Decimal) -> Quota:
    _check_quota_target(by, quota.user, quota.team)
    if amount is None or amount < 0:
        raise DomainError("A quota is an amount of zero or more.", field="amount")
    quota.amount = amount
    quota.save(update_fields=["amount"])
    return quota


@transaction.atomic
def delete_quota(*, quota: Quota, by: User) -> None:
    _check_quota_target(by, quota.user, quota.team)
    quota.delete()


# --- daily snapshot ------------------------------------------------------------------------------


@transaction.atomic
def take_snapshot(*, day: dt.date) -> int:
    """One ForecastSnapshot per open deal for `day`, in one INSERT … SELECT. Idempotent: a deal
    already snapshotted that day is skipped. Returns how many rows were added."""
    return _insert_snapshots(
        Deal.objects.filter(status=Deal.Status.OPEN),
        day,
        stage_id=F("stage_id"),
        probability=effective_probability(),
        expected_close_date=F("expected_close_date"),
    )


@transaction.atomic
def snapshot_from_history(*, days: Sequence[dt.date], deals: QuerySet[Deal] | None = None) -> int:
    """The snapshots `take_snapshot` would have taken on past `days` (at their start), rebuilt
    from the deals' history (`open_at_start_of`: stage, probability and close date then, today's
    amounts): one INSERT … SELECT a day, idempotent. For data loaded with its history (the demo),
    so forecast vs actual has something to compare. Returns how many rows were added."""
    deals = Deal.objects.all() if deals is None else deals
    # Compiled once for a stand-in day, run for each day with that day's values in its place
    # (compiling the nested subqueries costs more than running them).
    sql, params = _snapshots_sql(
        open_at_start_of(deals, STAND_IN_DAY),
        STAND_IN_DAY,
        stage_id=F("stage_then"),
        probability=F("prob"),
        expected_close_date=F("close_then"),
    )
    stand_ins = _day_values(STAND_IN_DAY)
    added = 0
    with connection.cursor() as cursor:
        for day in days:
            values = dict(zip(stand_ins, _day_values(day), strict=True))
            cursor.execute(sql, [values.get(param, param) for param in params])
            added += max(int(cursor.rowcount), 0)
    return added


STAND_IN_DAY = dt.date(1970, 1, 1)


def _day_values(day: dt.date) -> tuple[Any, Any]:
    """How the database receives `day` and its first instant as parameters."""
    start, _ = day_bounds(day, day)
    ops = connection.ops
    return ops.adapt_datefield_value(day), ops.adapt_datetimefield_value(start)


def _insert_snapshots(deals: QuerySet[Any], day: dt.date, **then: Any) -> int:
    """One snapshot row per deal of `deals` for `day`; `then` gives stage, probability and close
    date as they were."""
    sql, params = _snapshots_sql(deals, day, **then)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(int(cursor.rowcount), 0)


def _snapshots_sql(deals: QuerySet[Any], day: dt.date, **then: Any) -> tuple[str, list[Any]]:
    return insert_from_select_sql(
        ForecastSnapshot,
        deals,
        conflict_target=["taken_on", "deal_id"],
        taken_on=Value(day, output_field=DateField()),
        deal_id=F("pk"),
        pipeline_id=F("pipeline_id"),
        owner_id=F("owner_id"),
        status=Value(Deal.Status.OPEN),
        amount=F("amount"),
        currency=F("currency"),
        **then,
    )


@transaction.atomic
def compact_running_counts() -> None:
    """Sum each key's rows of the running counts behind the pipeline on a day and movement
    (`PipelineDay`, `MoveDay`: append-only, a few rows more with every change) into one, so
    reads stay short. No figure changes; changes made meanwhile are left for the next time.
    PostgreSQL only (SQLite keeps no running counts)."""
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT forecasting_pipeline_days_compact()")
        cursor.execute("SELECT forecasting_move_days_compact()")


# --- the stored backtest -------------------------------------------------------------------------


def store_backtests(*, kind: str, starts: Sequence[dt.date], today: dt.date) -> int:
    """Store the backtest of the periods of `kind` starting on `starts` (`StoredBacktest`,
    `BacktestPart`) for every pipeline and for all of them at once, in place of what was stored
    for them; one transaction per pipeline. Brier scores count the deals closed by `today`.
    Returns how many parts were stored."""
    stored = 0
    for pipeline in [None, *Pipeline.objects.order_by("pk")]:
        deals, snapshots = Deal.objects.all(), ForecastSnapshot.objects.all()
        if pipeline is not None:
            deals, snapshots = deals.filter(pipeline=pipeline), snapshots.filter(pipeline=pipeline)
        computed = period_parts(deals, snapshots, pipeline=pipeline, kind=kind, starts=[*starts])
        stored += _replace_backtests(kind, pipeline, computed, today)
    return stored


@transaction.atomic
def _replace_backtests(
    kind: str,
    pipeline: Pipeline | None,
    computed: dict[dt.date, tuple[bool, list[Part]]],
    today: dt.date,
) -> int:
    # Another run replacing the same periods (a rerun by hand during the nightly job) waits
    # for this one: else both delete the old rows, and the second's insert meets the first's.
    serialize_on("stored-backtest", kind, pipeline.pk if pipeline else "all")
    old = StoredBacktest.objects.filter(kind=kind, start__in=list(computed))
    old = old.filter(pipeline=pipeline) if pipeline else old.filter(pipeline__isnull=True)
    old.delete()
    parts: list[BacktestPart] = []
    for start, (from_snapshot, found) in computed.items():
        backtest = StoredBacktest.objects.create(
            kind=kind, start=start, pipeline=pipeline, from_snapshot=from_snapshot, scored_on=today
        )
        parts += [_stored_part(backtest, part) for part in found]
    BacktestPart.objects.bulk_create(parts, batch_size=500)
    return len(parts)


def _stored_part(backtest: StoredBacktest, part: Part) -> BacktestPart:
    return BacktestPart(backtest=backtest, **asdict(part))


# --- running counts ------------------------------------------------------------------------------


def keep_rollup_time_zone(*, using: str = "default") -> bool:
    """PostgreSQL: make the running counts' time zone (forecasting_rollupsettings, which the
    triggers of migration 0004 bucket days by) settings.TIME_ZONE; when it was another, count
    the days again from the whole history. Returns whether it did. Run after every migrate."""
    db = connections[using]
    if db.vendor != "postgresql":
        return False
    zone = str(settings.TIME_ZONE)
    with transaction.atomic(using=using), db.cursor() as cursor:
        cursor.execute("SELECT to_regclass('forecasting_rollupsettings') IS NOT NULL")
        row = cursor.fetchone()
        if not (row and row[0]):
            return False  # not migrated that far (yet)
        cursor.execute(
            "UPDATE forecasting_rollupsettings SET time_zone = %s WHERE id = 1 AND time_zone <> %s",
            [zone, zone],
        )
        if cursor.rowcount == 0:
            return False
        cursor.execute("SELECT forecasting_rollups_rebuild()")
    return True


def rebuild_running_counts() -> tuple[int, int]:
    """PostgreSQL: count the funnel's running day counts (StageFlowDay, ClosedDay) afresh from
    the moves and deals, in one transaction; returns how many rows of each. Only needed after
    something bypassed the triggers (a restore with triggers disabled)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT forecasting_rollups_rebuild()")
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM forecasting_stageflowday), "
            "(SELECT COUNT(*) FROM forecasting_closedday)"
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def rebuild_history_counts() -> None:
    """PostgreSQL: count the stage reach (StageReach), the pipeline on a day (OpenStay,
    PipelineDay) and movement (MoveDay) afresh from the whole history, in one transaction, with
    the SQL their migrations counted the existing history with. Only needed after something
    bypassed the triggers (`demo.bulk_load`); the deals' advanced_at and slipped_*_at must be
    right first (MoveDay counts them: `deals.services.refresh_stay_ends`)."""
    if not is_postgresql():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for statement in (*STAGE_REACH_REBUILD, *PIPELINE_DAYS_REBUILD, *MOVE_DAYS_REBUILD):
            cursor.execute(statement)
