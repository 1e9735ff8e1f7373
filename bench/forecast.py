"""Forecast dashboard speed at 1,000,000 deals on PostgreSQL.

    .venv/bin/python bench/forecast.py [--deals 1000000] [--repeat 15] [--reseed]

Works in a database of its own (`crm_forecast_bench` unless BENCH_DATABASE_URL says otherwise;
created and migrated here, never the one behind DATABASE_URL) and fills it once with
`manage.py seed_demo --deals N` (18 months of deals with their moves, field changes and
activities), plus two daily forecast snapshots. Seeding 1,000,000 deals takes a while (about
ten minutes on two cores); later runs reuse the data.

Prints, as the admin (every deal) and as a manager (one team), medians of --repeat warm runs
(a third as many for the slow panels), the figures compared taken in turns:
- the bare SQL aggregate of the dashboard's main figure (weighted forecast by close month),
- the dashboard page's server time (Django test client) and query count, and their ratio
  (target ≤ 3×); the page draws the watchlist and the stage probabilities too,
- the API endpoint's time,
- a table of each panel the page loads right after it through htmx (funnel, accuracy, reps,
  movement + pipeline as of a day) and the funnel's API:
  median time, the time of the same SQL statements replayed bare (no Django, no Python
  figures), their ratio and the query count; and, beside it, what is left of the panel once
  the fixed cost of any signed-in request is taken out (measured alongside on the board's
  live poll answering "nothing changed": session, user, middleware; no figure), against the
  same SQL,
- the whole dashboard (page and every panel) against the main figure's bare SQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import ensure_database, fail_unless, use_bench_database

BENCH_URL = use_bench_database("crm_forecast_bench")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

ensure_database(BENCH_URL)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from deals.live import current_version  # noqa: E402
from deals.models import Deal, Pipeline, Stage, StageChange  # noqa: E402
from forecasting import periods  # noqa: E402
from forecasting.models import ForecastSnapshot, StoredBacktest  # noqa: E402
from forecasting.services import take_snapshot  # noqa: E402
from forecasting.tasks import store_forecast_backtests  # noqa: E402


def log(message: str) -> None:
    print(message, flush=True)


# --- seeding -------------------------------------------------------------------------------------


def seed(count: int) -> None:
    """`seed_demo --deals N`: 18 months of deals with their moves, field changes and
    activities."""
    call_command("seed_demo", deals=count)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"Seeded: {Deal.objects.count():,} deals, {StageChange.objects.count():,} moves.")


def ensure_snapshots() -> None:
    """What forecast accuracy and movement read beside the deals: the daily snapshots of the
    first of last month and of this month."""
    this_month = periods.period_start(timezone.localdate(), "month")
    for day in (periods.shift(this_month, "month", -1), this_month):
        if not ForecastSnapshot.objects.filter(taken_on=day).exists():
            log(f"  snapshot of {day}: {take_snapshot(day=day):,} open deals")


def bench_people() -> tuple[User, User]:
    """The demo admin (every deal) and the demo manager of Team North."""
    return User.objects.get(username="admin"), User.objects.get(username="maria")


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


def timed(repeat: int, *actions: Callable[[], None]) -> list[float]:
    """Median seconds of each action, run in turns (a, b, a, b, …) so that the machine's ups
    and downs weigh on all of them alike; after one warm-up run each."""
    for action in actions:
        action()  # warm caches: every figure is measured warm, alike
    runs: list[list[float]] = [[] for _ in actions]
    for _ in range(repeat):
        for action, seconds in zip(actions, runs, strict=True):
            started = time.perf_counter()
            action()
            seconds.append(time.perf_counter() - started)
    return [statistics.median(seconds) for seconds in runs]


def bare_sql(user: User, kind: str = "month") -> Callable[[], None]:
    """The main figure in plain SQL: weighted open amount by close period, nothing else."""
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

    return run


def page(user: User, url: str, **headers: str) -> Callable[[], None]:
    client = Client()
    client.force_login(user)

    def run() -> None:
        response = client.get(url, headers=headers)
        fail_unless(response.status_code == 200, response.status_code)

    return run


def query_count(run: Callable[[], None]) -> int:
    with CaptureQueriesContext(connection) as queries:
        run()
    return len(queries.captured_queries)


PANELS = ("funnel", "accuracy", "reps")
# What the dashboard loads after the page (htmx), and the funnel's API: (label, URL).
PANEL_URLS = (
    *((name, f"/forecast/panel/{name}/") for name in PANELS),
    ("movement + as_of", "/forecast/movement/"),
    ("api funnel", "/api/analytics/funnel/"),
)


def replay(sqls: list[str]) -> Callable[[], None]:
    """A request's own SQL, statement by statement, in one transaction (its SET LOCALs hold),
    without Django, templates or Python figures: the panel's bare SQL."""

    def run() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in sqls:
                if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
                    continue
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()

    return run


def empty_request(user: User) -> Callable[[], None]:
    """A signed-in request that computes nothing: the board's live poll when nothing changed
    (204 from the cache). What every panel pays before its own work."""
    pipeline = Pipeline.objects.order_by("pk")[0]
    version = current_version(pipeline.pk)
    client = Client()
    client.force_login(user)

    def run() -> None:
        url = f"/board/{pipeline.pk}/live/?v={version}"
        response = client.get(url, headers={"HX-Request": "true"})
        fail_unless(response.status_code == 204, response.status_code)

    return run


def panel_figures(user: User, repeat: int) -> list[tuple[str, float, float, float, int]]:
    """Each panel: (label, median seconds, median seconds of its bare SQL, of an empty
    signed-in request, queries)."""
    empty = empty_request(user)
    figures = []
    for label, url in PANEL_URLS:
        if args.skip and any(word in label for word in args.skip):
            continue
        run = page(user, url, HX_Request="true")
        run()  # warm
        with CaptureQueriesContext(connection) as queries:
            run()
        sqls = [query["sql"] for query in queries.captured_queries]
        seconds, sql_seconds, empty_seconds = timed(repeat, run, replay(sqls), empty)
        figures.append((label, seconds, sql_seconds, empty_seconds, len(sqls)))
    return figures


def log_panels(user: User, repeat: int) -> float:
    """The table of panels; returns their total seconds."""
    log(f"  {'panel':<18} {'ms (median)':>12} {'bare SQL ms':>12} {'ratio':>7} {'queries':>8}"
        f"   {'empty request ms':>16} {'the rest / SQL':>15}")  # fmt: skip
    total = 0.0
    for label, seconds, sql_seconds, empty_seconds, queries in panel_figures(user, repeat):
        total += seconds
        ratio = seconds / sql_seconds if sql_seconds else float("nan")
        rest = (seconds - empty_seconds) / sql_seconds if sql_seconds else float("nan")
        log(f"  {label:<18} {seconds * 1000:12.1f} {sql_seconds * 1000:12.1f} "
            f"{ratio:6.2f}× {queries:8d}   {empty_seconds * 1000:16.1f} {rest:14.2f}×")  # fmt: skip
    return total


def measure(label: str, user: User) -> None:
    repeat = args.repeat
    dashboard, api = page(user, "/forecast/"), page(user, "/api/forecast/")
    sql_seconds, dash_seconds, api_seconds = timed(repeat, bare_sql(user), dashboard, api)
    htmx = page(user, "/forecast/?period=quarter", HX_Request="true")
    quarter_sql_seconds, htmx_seconds = timed(repeat, bare_sql(user, "quarter"), htmx)
    log(f"\n{label}")
    log(f"  bare SQL aggregate of the main figure : {sql_seconds * 1000:8.1f} ms")
    log(f"  dashboard /forecast/ server time      : {dash_seconds * 1000:8.1f} ms "
        f"({query_count(dashboard)} queries)")  # fmt: skip
    log(f"  ratio dashboard / bare SQL            : {dash_seconds / sql_seconds:8.2f} ×")
    log(f"  htmx filter change (quarter)          : {htmx_seconds * 1000:8.1f} ms "
        f"(bare SQL by quarter {quarter_sql_seconds * 1000:.1f} ms: "
        f"{htmx_seconds / quarter_sql_seconds:.2f} ×)")  # fmt: skip
    log(f"  GET /api/forecast/                    : {api_seconds * 1000:8.1f} ms "
        f"({query_count(api)} queries)")  # fmt: skip
    log("  panels (loaded by htmx after the page) and the funnel's API, each against its own")
    log("  SQL replayed bare (target: ≤ 3× and < 300 ms):")
    whole_seconds = dash_seconds + log_panels(user, max(3, repeat // 3))
    log(f"  the whole dashboard, page + panels    : {whole_seconds * 1000:8.1f} ms, "
        f"{whole_seconds / sql_seconds:.2f} × the main figure's bare SQL")  # fmt: skip


def ensure_backtests() -> None:
    """What the nightly job stores for the accuracy panel (a database seeded before it
    existed has none)."""
    if StoredBacktest.objects.exists():
        return
    started = time.perf_counter()
    parts = store_forecast_backtests()
    log(f"Stored the backtests (the nightly job): {parts} parts in "
        f"{time.perf_counter() - started:.0f} s")  # fmt: skip


def main() -> None:
    log(f"Database: {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    if args.reseed:
        call_command("seed_demo", deals=0, reset=True)
        ForecastSnapshot.objects.all().delete()
    if Deal.objects.count() < args.deals:
        log(f"Seeding {args.deals:,} deals with seed_demo …")
        started = time.perf_counter()
        seed(args.deals)
        log(f"Seeding took {time.perf_counter() - started:.0f} s")
    ensure_snapshots()
    ensure_backtests()
    if args.seed_only:
        return
    admin, manager = bench_people()
    log(
        f"{Deal.objects.count():,} deals, {StageChange.objects.count():,} moves, "
        f"{ForecastSnapshot.objects.count():,} snapshots; median of {args.repeat} warm runs"
    )
    measure("Admin (every deal)", admin)
    measure(f"Manager of one team ({manager.username})", manager)


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
parser.add_argument("--deals", type=int, default=1_000_000)
parser.add_argument("--repeat", type=int, default=15)
parser.add_argument("--reseed", action="store_true", help="Throw the demo deals away first.")
parser.add_argument("--seed-only", action="store_true", help="Seed, then stop (no measuring).")
parser.add_argument(
    "--skip",
    action="append",
    default=[],
    metavar="PANEL",
    help="Leave out the panels whose label holds this word (repeatable), e.g. --skip accuracy:"
    " the backtest replays a year of months and takes minutes at 1,000,000 deals.",
)
args = parser.parse_args()

if __name__ == "__main__":
    main()
