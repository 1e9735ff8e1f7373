"""Forecast dashboard speed at 1,000,000 deals on PostgreSQL.

    .venv/bin/python bench/forecast.py [--deals 1000000] [--repeat 5] [--reseed]

Works in a database of its own (`crm_forecast_bench` unless BENCH_DATABASE_URL says otherwise;
created and migrated here, never the one behind DATABASE_URL) and seeds it once with
INSERT … SELECT generate_series: deals spread over two years (55 % open, 25 % won, 20 % lost),
their stage history (one row per stage reached, ~3.5 per deal) and two daily snapshots.
Seeding 1,000,000 deals takes a few minutes; later runs reuse the data.

Prints, as the admin (every deal) and as a manager (one team):
- the bare SQL aggregate of the dashboard's main figure (weighted forecast by close month),
- the dashboard's server time (Django test client, full page, median of --repeat runs),
- their ratio (target ≤ 3×) and the dashboard's query count,
- the API forecast endpoint's time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from _common import ensure_database, use_bench_database

BENCH_URL = use_bench_database("crm_forecast_bench")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

ensure_database(BENCH_URL)

import django  # noqa: E402

django.setup()

import json  # noqa: E402

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import NOT_PROVIDED  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Team, User  # noqa: E402
from deals.models import Deal, Pipeline, Stage, StageChange  # noqa: E402
from forecasting import periods  # noqa: E402
from forecasting.models import ForecastSnapshot, Quota  # noqa: E402
from forecasting.services import take_snapshot  # noqa: E402

CHUNK = 100_000
TEAMS, REPS_PER_TEAM = 8, 6
LOST_REASONS = ["Price", "No budget", "Competitor", "Timing", "No decision"]


def log(message: str) -> None:
    print(message, flush=True)


# --- seeding -------------------------------------------------------------------------------------


def make_people() -> tuple[User, User, list[int]]:
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    admin.is_superuser = True
    admin.save()
    rep_group, manager_group = Group.objects.get(name="rep"), Group.objects.get(name="manager")
    rep_ids = []
    first_manager = None
    for t in range(TEAMS):
        team, _ = Team.objects.get_or_create(name=f"Bench team {t}")
        boss, _ = User.objects.get_or_create(username=f"bench-manager-{t}")
        boss.groups.add(manager_group)
        team.managers.add(boss)
        first_manager = first_manager or boss
        for r in range(REPS_PER_TEAM):
            rep, _ = User.objects.get_or_create(username=f"bench-rep-{t}-{r}")
            rep.groups.add(rep_group)
            team.members.add(rep)
            rep_ids.append(rep.pk)
    assert first_manager is not None
    return admin, first_manager, rep_ids


def _default_columns(explicit: set[str]) -> tuple[list[str], list[Any]]:
    """Columns the seed SQL does not set, with their model defaults (robust to new fields)."""
    columns: list[str] = []
    values: list[Any] = []
    for model_field in Deal._meta.concrete_fields:
        if model_field.primary_key or model_field.column in explicit:
            continue
        if model_field.default is not NOT_PROVIDED:
            value = model_field.get_default()
            values.append(json.dumps(value) if isinstance(value, list | dict) else value)
        elif model_field.null:
            values.append(None)
        else:
            raise SystemExit(f"Seed does not know how to fill deals_deal.{model_field.column}")
        columns.append(str(model_field.column))
    return columns, values


DEAL_SQL = """
INSERT INTO {deal} ({columns})
SELECT title, pipeline_id, stage_id, status, amount, currency, expected_close_date,
       probability_override, owner_id, position, version, stage_entered_at, won_at, lost_at,
       lost_reason, next_step, stalled, stall_reasons, close_date_pushes, created_at, updated_at
       {extra_select}
FROM (
  SELECT x.*,
    'Bench deal ' || g AS title,
    %(pipeline)s AS pipeline_id,
    CASE WHEN x.status = 'won' THEN (CASE WHEN r_stage < 0.1 THEN %(post_sale)s ELSE %(won)s END)
         ELSE (%(open_ids)s::bigint[])[1 + floor(r_stage * 5)::int] END AS stage_id,
    CASE WHEN r_amount < 0.03 THEN NULL
         ELSE round((500 + r_amount * 99500)::numeric, 2) END AS amount,
    CASE WHEN r_reason < 0.02 THEN 'EUR' ELSE 'USD' END AS currency,
    CASE WHEN x.status = 'open' THEN
           CASE WHEN r_close < 0.02 THEN NULL
                ELSE (now()::date - 60 + floor(r_close * 330)::int) END
         ELSE (x.created_at::date + 20 + floor(r_close * 100)::int) END AS expected_close_date,
    CASE WHEN r_override < 0.1 THEN floor(r_override * 1000)::int ELSE NULL END
      AS probability_override,
    (%(reps)s::bigint[])[1 + (g %% %(rep_count)s)] AS owner_id,
    g * 1024 AS position,
    1 AS version,
    x.created_at AS stage_entered_at,
    CASE WHEN x.status = 'won'
         THEN LEAST(now(), x.created_at + (10 + r_close * 80) * interval '1 day') END AS won_at,
    CASE WHEN x.status = 'lost'
         THEN LEAST(now(), x.created_at + (5 + r_close * 60) * interval '1 day') END AS lost_at,
    CASE WHEN x.status = 'lost' THEN (%(reasons)s::text[])[1 + floor(r_reason * 5)::int]
         ELSE '' END AS lost_reason,
    '' AS next_step,
    (x.status = 'open' AND r_reason < 0.05) AS stalled,
    '[]'::jsonb AS stall_reasons,
    floor(r_reason * 3)::int AS close_date_pushes,
    now() AS updated_at
  FROM (
    SELECT g, r_stage, r_amount, r_close, r_override, r_reason,
      CASE WHEN r_status < 0.55 THEN 'open' WHEN r_status < 0.80 THEN 'won' ELSE 'lost' END
        AS status,
      now() - (r_age * 730) * interval '1 day' AS created_at
    FROM (
      SELECT g, random() AS r_status, random() AS r_stage, random() AS r_amount,
             random() AS r_close, random() AS r_override, random() AS r_reason, random() AS r_age
      FROM generate_series(%(first)s, %(last)s) AS g
    ) r
  ) x
) y
"""

HISTORY_SQL = """
INSERT INTO {changes} (deal_id, from_stage_id, to_stage_id, from_stage_name, to_stage_name,
                       by_id, at)
SELECT d.id, prev.id, s.id, COALESCE(prev.name, ''), s.name, d.owner_id,
       d.created_at + (s."order" - 1)
         * ((COALESCE(d.won_at, d.lost_at, now()) - d.created_at) / cur."order")
FROM {deal} d
JOIN {stage} cur ON cur.id = d.stage_id
JOIN {stage} s ON s.pipeline_id = d.pipeline_id AND s."order" <= cur."order"
LEFT JOIN {stage} prev ON prev.pipeline_id = s.pipeline_id AND prev."order" = s."order" - 1
WHERE d.id BETWEEN %s AND %s
"""


def seed(count: int) -> None:
    _, _, rep_ids = make_people()
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("order"))
    open_ids = [s.pk for s in stages if s.kind == Stage.Kind.OPEN][:5]
    won = next(s.pk for s in stages if s.kind == Stage.Kind.WON)
    post_sale = next((s.pk for s in stages if s.kind == Stage.Kind.POST_SALE), won)
    explicit = {
        "title", "pipeline_id", "stage_id", "status", "amount", "currency",
        "expected_close_date", "probability_override", "owner_id", "position", "version",
        "stage_entered_at", "won_at", "lost_at", "lost_reason", "next_step", "stalled",
        "stall_reasons", "close_date_pushes", "created_at", "updated_at",
    }  # fmt: skip
    extra_columns, extra_values = _default_columns(explicit)
    columns = [
        "title", "pipeline_id", "stage_id", "status", "amount", "currency",
        "expected_close_date", "probability_override", "owner_id", "position", "version",
        "stage_entered_at", "won_at", "lost_at", "lost_reason", "next_step", "stalled",
        "stall_reasons", "close_date_pushes", "created_at", "updated_at", *extra_columns,
    ]  # fmt: skip
    extra_select = "".join(f", %(extra_{i})s" for i in range(len(extra_values)))
    sql = DEAL_SQL.format(
        deal=Deal._meta.db_table, columns=", ".join(columns), extra_select=extra_select
    )
    already = Deal.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        for first in range(already + 1, count + 1, CHUNK):
            last = min(first + CHUNK - 1, count)
            params = {
                "pipeline": pipeline.pk, "won": won, "post_sale": post_sale,
                "open_ids": open_ids, "reps": rep_ids, "rep_count": len(rep_ids),
                "reasons": LOST_REASONS, "first": first, "last": last,
                **{f"extra_{i}": v for i, v in enumerate(extra_values)},
            }  # fmt: skip
            cursor.execute(sql, params)
            log(f"  deals {last:>9,}")
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {Deal._meta.db_table}")
        low, high = cursor.fetchone()
        history = HISTORY_SQL.format(
            changes=StageChange._meta.db_table, deal=Deal._meta.db_table,
            stage=Stage._meta.db_table,
        )  # fmt: skip
        if not StageChange.objects.exists():
            for first in range(low, high + 1, CHUNK):
                cursor.execute(history, [first, first + CHUNK - 1])
                log(f"  history for deals up to id {min(first + CHUNK - 1, high):>9,}")
    today = timezone.localdate()
    this_month = periods.period_start(today, "month")
    for day in (periods.shift(this_month, "month", -1), this_month):
        if not ForecastSnapshot.objects.filter(taken_on=day).exists():
            log(f"  snapshot of {day}: {take_snapshot(day=day):,} open deals")
    for team in Team.objects.filter(name__startswith="Bench team"):
        for offset in range(-2, 4):
            Quota.objects.get_or_create(
                team=team,
                period="month",
                period_start=periods.shift(this_month, "month", offset),
                defaults={"amount": 2_000_000},
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"Seeded: {Deal.objects.count():,} deals, {StageChange.objects.count():,} moves.")


# --- measuring -----------------------------------------------------------------------------------

MAIN_FIGURE_SQL = """
SELECT date_trunc(%s, d.expected_close_date) AS period,
       SUM(d.amount * COALESCE(d.probability_override, s.probability)) / 100 AS weighted
FROM {deal} d JOIN {stage} s ON s.id = d.stage_id
WHERE d.status = 'open' AND d.currency = 'USD'
  AND (d.expected_close_date BETWEEN %s AND %s OR d.expected_close_date IS NULL)
  {owner_filter}
GROUP BY 1
"""


def timed(repeat: int, action) -> float:
    action()  # warm caches: every figure is measured warm, alike
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def bare_sql(user: User, kind: str = "month") -> float:
    first, last = periods.default_window(timezone.localdate(), kind)
    owner_filter = ""
    params: list[Any] = [kind, first, last]
    if not user.is_superuser:
        owner_filter = (
            "AND d.owner_id IN (SELECT m.user_id FROM accounts_team_members m "
            "JOIN accounts_team_managers g ON g.team_id = m.team_id WHERE g.user_id = %s)"
        )
        params.append(user.pk)
    sql = MAIN_FIGURE_SQL.format(
        deal=Deal._meta.db_table, stage=Stage._meta.db_table, owner_filter=owner_filter
    )

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return timed(args.repeat, run)


def page(user: User, url: str, **headers: str) -> tuple[float, int]:
    client = Client()
    client.force_login(user)

    def run() -> None:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.status_code

    seconds = timed(args.repeat, run)
    with CaptureQueriesContext(connection) as queries:
        run()
    return seconds, len(queries.captured_queries)


def measure(label: str, user: User) -> None:
    sql_seconds = bare_sql(user)
    quarter_sql_seconds = bare_sql(user, "quarter")
    dash_seconds, dash_queries = page(user, "/forecast/")
    htmx_seconds, _ = page(user, "/forecast/?period=quarter", HX_Request="true")
    api_seconds, api_queries = page(user, "/api/forecast/")
    log(f"\n{label}")
    log(f"  bare SQL aggregate of the main figure : {sql_seconds * 1000:8.1f} ms")
    log(f"  dashboard /forecast/ server time      : {dash_seconds * 1000:8.1f} ms "
        f"({dash_queries} queries)")  # fmt: skip
    log(f"  ratio dashboard / bare SQL            : {dash_seconds / sql_seconds:8.2f} ×")
    log(f"  htmx filter change (quarter)          : {htmx_seconds * 1000:8.1f} ms "
        f"(bare SQL by quarter {quarter_sql_seconds * 1000:.1f} ms: "
        f"{htmx_seconds / quarter_sql_seconds:.2f} ×)")  # fmt: skip
    log(f"  GET /api/forecast/                    : {api_seconds * 1000:8.1f} ms "
        f"({api_queries} queries)")  # fmt: skip
    log("  panels, each loaded by htmx after the page:")
    for name in ("funnel", "accuracy", "reps", "watchlist", "probabilities"):
        seconds, queries = page(user, f"/forecast/panel/{name}/", HX_Request="true")
        log(f"    {name:<14} {seconds * 1000:8.1f} ms ({queries} queries)")
    funnel_seconds, funnel_queries = page(user, "/api/analytics/funnel/")
    log(f"  GET /api/analytics/funnel/            : {funnel_seconds * 1000:8.1f} ms "
        f"({funnel_queries} queries)")  # fmt: skip


def main() -> None:
    log(f"Database: {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    if args.reseed:
        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {ForecastSnapshot._meta.db_table}, {StageChange._meta.db_table}, "
                f"{Deal._meta.db_table} CASCADE"
            )
    if Deal.objects.count() < args.deals:
        log(f"Seeding {args.deals:,} deals …")
        started = time.perf_counter()
        seed(args.deals)
        log(f"Seeding took {time.perf_counter() - started:.0f} s")
    if args.seed_only:
        return
    admin, manager, _ = make_people()
    log(
        f"{Deal.objects.count():,} deals, {StageChange.objects.count():,} moves, "
        f"{ForecastSnapshot.objects.count():,} snapshots; median of {args.repeat} warm runs"
    )
    measure("Admin (every deal)", admin)
    measure(f"Manager of one team ({manager.username})", manager)


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
parser.add_argument("--deals", type=int, default=1_000_000)
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--reseed", action="store_true", help="Empty the deals first.")
parser.add_argument("--seed-only", action="store_true", help="Seed, then stop (no measuring).")
args = parser.parse_args()

if __name__ == "__main__":
    main()
