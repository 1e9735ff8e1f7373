"""Load test: reps and managers at once against gunicorn + PostgreSQL + Redis, then the
invariants checked in SQL.

    .venv/bin/python bench/load.py                     # 50 users, 2 minutes, 100,000 deals
    .venv/bin/python bench/load.py --users 20 --duration 60 --deals 10000
    .venv/bin/python bench/load.py --smoke             # 5 users, 10 s, 300 deals, throwaway DB
    .venv/bin/python bench/load.py --ramp 5            # every user starts within 5 s

Works in the PostgreSQL database `--database` (a name, on the server of BENCH_DATABASE_URL /
DATABASE_URL or 127.0.0.1, or a postgres:// URL; its name must contain "bench", or start with
"test_" for pytest's): creates and migrates it, tops the demo data up to `--deals` with
`manage.py seed_demo`, stores the nightly backtests (`manage.py store_backtests`), runs
VACUUM (ANALYZE) (the bulk load leaves no statistics, and autovacuum may be off), then starts
gunicorn with the repository's gunicorn.conf.py on `--port` (`--workers`, default
WEB_CONCURRENCY or the cores) and Redis (REDIS_URL, else db 0 on 127.0.0.1). `--smoke` works
in a database of its own (`<database>_smoke_<pid>`), dropped afterwards; with
`--reuse-database` in `--database` as it is (tests/infra/test_load_smoke.py passes pytest's
test database).

The simulated people (bench/load_users.py, locust): four in five are reps on the board
(open it, page columns, follow the live poll and refresh changed columns, move deals, some of
them deliberately on the same deals with stale versions so that the version guard answers 409,
double drops, log activities); one in five are managers loading the forecast and its panels.
Each demo account signs in once; its simulated users share that session (so the run pays for
six password hashes, not fifty, and no failed login can trip django-axes). gunicorn runs with
THROTTLE_USER raised to 1000000/minute: the run measures the app, not DRF's throttle.

The users start over `--ramp` seconds (30 by default: people arriving at work over half a
minute; `--ramp 5` is everyone opening the board and the dashboard at once, which on two cores
shared with PostgreSQL and locust queues the first seconds' requests).

Prints the environment (cores, load average, workers), a table per request type (count, 409s,
failures, p50/p95/p99 in ms), the same from 10 s after the last user started (the ramp left
out), and the checks: every move the clients saw succeed left exactly
one stage-history row, no deal sits in another pipeline's stage, no two deals share a position
in a column, notification keys are unique, the running column totals match the deals. Exits
non-zero when a check fails or any request failed.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before anything imports socket or ssl (locust would do it on import)

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager, suppress  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import IO  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import gevent  # noqa: E402
import load_users  # noqa: E402
import locust  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from _common import (  # noqa: E402
    ROOT,
    SERVER_ENVIRONMENT,
    Browser,
    ensure_database,
    free_port,
    load_average,
    start_gunicorn,
    wait_until_up,
)
from load_users import (  # noqa: E402
    PACES,
    TALLY,
    Account,
    Manager,
    Plan,
    Rep,
)
from locust import between  # noqa: E402
from locust.env import Environment  # noqa: E402
from psycopg import sql  # noqa: E402

REPS = ["rita", "ravi", "sam", "sara"]
MANAGERS = ["maria", "mark"]
PASSWORD = "demo1234!"  # noqa: S105 - demo.demo_data.DEMO_PASSWORD (no Django imported here)
HOT_DEALS = 2  # per rep account, moved by all its simulated users
WORKING_SET = 20  # deals per simulated rep, moved by it alone
SERVER_ENV = {"THROTTLE_USER": "1000000/minute"}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, help="simulated users (50; smoke 5)")
    parser.add_argument("--duration", type=float, help="seconds of load (120; smoke 10)")
    parser.add_argument("--deals", type=int, help="demo deals to top up to (100000; smoke 300)")
    parser.add_argument("--database", default="crm_load_bench", help="name or postgres:// URL")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (0: a free one)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (WEB_CONCURRENCY or cores)")
    parser.add_argument("--smoke", action="store_true", help="small, short, throwaway database")
    parser.add_argument(
        "--pace",
        choices=sorted(PACES),
        help="think times: brisk (people working fast, the default) or stress (the smoke's)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        help="seconds over which the users start, opening their first page (30; smoke 1)",
    )
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="use --database as it is: existing and migrated (e.g. pytest's), never dropped",
    )
    args = parser.parse_args()
    small = args.smoke
    args.users = args.users or (5 if small else 50)
    if args.users < 2:
        parser.error("--users: at least 2 (a manager and a rep)")
    args.duration = args.duration or (10.0 if small else 120.0)
    args.deals = args.deals or (300 if small else 100_000)
    args.pace = args.pace or ("stress" if small else "brisk")
    args.ramp = args.ramp or (1.0 if small else 30.0)
    cores = 1 if small else os.cpu_count() or 2  # one worker starts faster for a smoke run
    args.workers = args.workers or int(os.environ.get("WEB_CONCURRENCY") or cores)
    return args


# --- the database ------------------------------------------------------------------------------


def database_url(database: str, *, throwaway: bool) -> str:
    if "://" in database:
        url = urlparse(database)
    else:
        server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
        if not server.startswith("postgres"):
            server = "postgres://postgres@127.0.0.1:5432/postgres"
        url = urlparse(server)._replace(path=f"/{database}")
    if throwaway:
        url = url._replace(path=f"{url.path}_smoke_{os.getpid()}")
    name = url.path.lstrip("/")
    if "bench" not in name and not name.startswith("test_"):
        sys.exit("Refusing a database whose name neither contains 'bench' nor starts 'test_'.")
    return url.geturl()


def manage(url: str, *command: str) -> None:
    env = {**os.environ, **SERVER_ENVIRONMENT, "DATABASE_URL": url}
    # Our own manage.py with fixed arguments.
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)  # noqa: S603


def prepare(url: str, deals: int, *, reuse: bool) -> None:
    """Create and migrate the database (unless `reuse`), seed and analyse it."""
    if not reuse:
        ensure_database(url)
        manage(url, "migrate", "--verbosity", "0")
    started = time.perf_counter()
    manage(url, "seed_demo", "--deals", str(deals))
    manage(url, "store_backtests")  # what the nightly job keeps for the accuracy panel
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    print(
        f"Database ready (seed, backtests, VACUUM (ANALYZE)) in "
        f"{time.perf_counter() - started:.1f} s"
    )


def drop_database(url: str) -> None:
    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    name = sql.Identifier(parsed.path.lstrip("/"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def plan_from(url: str, rep_users: int, manager_users: int) -> tuple[Plan, int]:
    """Who moves which deals (see bench/load_users.py), and the last stage-history row's id
    before the run. Only accounts that get simulated users are signed in."""
    accounts = REPS[: max(1, min(len(REPS), rep_users // 4))]
    per_account = -(-rep_users // len(accounts))
    with psycopg.connect(url) as conn:
        (pipeline_id,) = conn.execute(
            "SELECT id FROM deals_pipeline ORDER BY is_default DESC, name LIMIT 1"
        ).fetchone() or (0,)
        stage_ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM deals_stage WHERE pipeline_id = %s AND kind = 'open'"
                ' AND jsonb_array_length(required_fields) = 0 ORDER BY "order"',
                [pipeline_id],
            )
        ]
        rows = conn.execute(
            "SELECT u.username, d.id, d.stage_id, d.version FROM deals_deal d"
            " JOIN accounts_user u ON u.id = d.owner_id WHERE d.status = 'open'"
            " AND d.stage_id = ANY(%s) AND u.username = ANY(%s) ORDER BY md5(d.id::text)",
            [stage_ids, accounts],
        ).fetchall()
        (last_history_id,) = conn.execute(
            "SELECT coalesce(max(id), 0) FROM deals_stagechange"
        ).fetchone() or (0,)
    if len(stage_ids) < 2:
        sys.exit("The default pipeline needs two open stages without required fields.")
    owned: dict[str, list[int]] = {name: [] for name in accounts}
    deals = {}
    for username, pk, stage, version in rows:
        if len(owned[username]) < HOT_DEALS + per_account * WORKING_SET:
            owned[username].append(pk)
            deals[pk] = (stage, version)
    reps = []
    for username in accounts:
        ids = owned[username]
        sets = [ids[HOT_DEALS + i :: per_account] for i in range(per_account)]
        reps.append(Account(username, [], "", hot=ids[:HOT_DEALS], working_sets=sets))
    managers = [Account(name, [], "") for name in MANAGERS[: max(1, manager_users)]]
    return Plan(pipeline_id, stage_ids, reps, managers, deals), last_history_id


def sign_in(base: str, accounts: list[Account]) -> None:
    """Each account once, all at once (a password hash each, on gunicorn's threads)."""

    def one(account: Account) -> None:
        browser = Browser(base, account.username, PASSWORD)
        account.cookies = list(browser.jar)
        account.csrf = browser.csrf()

    for greenlet in gevent.joinall([gevent.spawn(one, a) for a in accounts], raise_error=True):
        greenlet.get()


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    port: int
    popen: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.popen.pid)

    def wait_until_up(self) -> None:
        wait_until_up(self.popen, self.port)

    def cpu_seconds(self) -> float:
        """CPU time of gunicorn's arbiter and workers so far."""
        with suppress(psutil.Error):
            children = self.process.children(recursive=True)
            return sum(process_cpu(p) for p in [self.process, *children])
        return 0.0

    def errors(self) -> list[str]:
        """What gunicorn logged at ERROR or above (a 409 logs a warning; a 500, an error)."""
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").splitlines()
        levels = (" ERROR ", " CRITICAL ", "[ERROR]", "[CRITICAL]")  # Django's, gunicorn's
        return [line for line in lines if any(level in line for level in levels)]


def forget_shared_cards(redis_url: str) -> None:
    """Every run starts with no board card drawn (deals.templatetags.card_cache), as after a
    deploy: an earlier run's cards would make this one look faster than it is."""
    import redis

    client = redis.Redis.from_url(redis_url)
    names = list(client.scan_iter(match="*:card:*", count=1000))
    for start in range(0, len(names), 1000):
        client.delete(*names[start : start + 1000])
    print(f"Shared board cards forgotten: {len(names):,}")


@contextmanager
def gunicorn(url: str, port: int, workers: int) -> Iterator[Server]:
    """gunicorn starting (it boots while the database is prepared: `Server.wait_until_up`)."""
    redis = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    env = {**SERVER_ENV, "REDIS_URL": redis}
    forget_shared_cards(redis)
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(url, port, workers=workers, env=env, log=log, wait=False)
        try:
            yield Server(f"http://127.0.0.1:{port}", port, server, log)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run(base: str, users: int, duration: float, pace: str, ramp: float) -> float:
    """`users` simulated people at `pace` for `duration` seconds (all started within the first
    5 s); returns the seconds the run took."""
    Manager.fixed_count = max(1, users // 5)
    rep_wait, manager_wait = PACES[pace]
    Rep.wait_time = between(*rep_wait)
    Manager.wait_time = between(*manager_wait)
    # stop_timeout: at the end each user finishes the task it is in (a request cut off would
    # count as a failure, and a move the server made but the client never saw would upset the
    # history check).
    environment = Environment(user_classes=[Rep, Manager], host=base, stop_timeout=60)

    def record(name: str, response_time: float, response=None, exception=None, **_) -> None:
        TALLY.on_request(name, response_time, response, exception)

    environment.events.request.add_listener(record)
    runner = environment.create_local_runner()
    started = time.perf_counter()
    environment.events.spawning_complete.add_listener(
        lambda **_: setattr(TALLY, "all_running_at", time.monotonic())
    )
    runner.start(users, spawn_rate=max(1.0, users / ramp))
    gevent.spawn_later(duration, runner.quit)
    runner.greenlet.join()
    return time.perf_counter() - started


# --- what it prints ----------------------------------------------------------------------------


def percentile(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def process_cpu(process: psutil.Process) -> float:
    with suppress(psutil.Error):
        times = process.cpu_times()
        return float(times.user + times.system)
    return 0.0


class Cpu:
    """CPU seconds gunicorn, this process (locust) and the PostgreSQL backends of the database
    use from now until `stop`: on a shared machine, with the wall time, they tell how much of
    it the run got. Backends are sampled every second (one that ends loses its last second)."""

    def __init__(self, server: Server, database: str) -> None:
        self.server, self.tag = server, f" {database} "
        self.database_base = self.database_now()
        self.database_last = dict(self.database_base)
        self.started = (server.cpu_seconds(), time.process_time(), time.perf_counter())
        self.sampler = gevent.spawn(self.sample)

    def database_now(self) -> dict[int, float]:
        backends = psutil.process_iter(["cmdline"])
        mine = [p for p in backends if self.tag in " ".join(p.info["cmdline"] or []) + " "]
        return {p.pid: process_cpu(p) for p in mine}

    def sample(self) -> None:
        while True:
            self.database_last.update(self.database_now())
            gevent.sleep(1)

    def stop(self) -> None:
        self.sampler.kill()
        self.database_last.update(self.database_now())
        server, client, wall = self.started
        self.server_seconds = self.server.cpu_seconds() - server
        self.client_seconds = time.process_time() - client
        self.wall = time.perf_counter() - wall
        base = self.database_base
        self.database_seconds = sum(t - base.get(pid, 0.0) for pid, t in self.database_last.items())


def print_environment(args: argparse.Namespace, url: str, load_before: str, cpu: Cpu) -> None:
    with psycopg.connect(url) as conn:
        (pg,) = conn.execute("SHOW server_version").fetchone() or ("?",)
        (deals,) = conn.execute("SELECT count(*) FROM deals_deal").fetchone() or (0,)
    threads = os.environ.get("GUNICORN_THREADS", "4")
    rep_wait, manager_wait = PACES[args.pace]
    requests = max(1, sum(len(samples) for samples in TALLY.samples.values()))
    per_request = 1000 * (cpu.server_seconds + cpu.database_seconds) / requests
    print(
        f"Environment: {os.cpu_count()} cores, load average {load_before} before the run, "
        f"{load_average()} after (1, 5, 15 min); Python {platform.python_version()}, "
        f"PostgreSQL {pg}, locust {locust.__version__} on the same machine\n"
        f"Run: {args.users} users ({Manager.fixed_count} managers) starting over "
        f"{args.ramp:.0f} s, for {args.duration:.0f} s "
        f"(pace {args.pace}: reps act every {rep_wait[0]}-{rep_wait[1]} s, managers every "
        f"{manager_wait[0]}-{manager_wait[1]} s) against gunicorn ({args.workers} workers x "
        f"{threads} threads, gunicorn.conf.py), "
        f"{deals:,} deals in {urlparse(url).path.lstrip('/')}\n"
        f"CPU used in {cpu.wall:.0f} s: gunicorn {cpu.server_seconds:.1f} s, PostgreSQL "
        f"{cpu.database_seconds:.1f} s, locust {cpu.client_seconds:.1f} s (of {os.cpu_count()} "
        "cores x the wall time; the rest went to other users of the machine or idled): "
        f"{per_request:.0f} ms of server CPU (gunicorn + PostgreSQL) per request"
    )


# After the last user has started, its first requests (the board, the dashboard) still come.
SETTLE_SECONDS = 10.0


def print_table(seconds: float) -> tuple[int, int]:
    """The figures per request type, then the same once every user has been running for a
    while (the ramp's burst left out); returns (requests, failures)."""
    header = f"{'request':<28} {'count':>7} {'409':>6} {'failed':>6} {'p50 ms':>8} {'p95 ms':>8}"
    print(f"\n{header} {'p99 ms':>8}")
    for name in sorted(TALLY.samples):
        samples = TALLY.samples[name]
        figures = " ".join(f"{percentile(samples, p):8.1f}" for p in (50, 95, 99))
        print(
            f"{name:<28} {len(samples):>7} {TALLY.conflicts[name]:>6}"
            f" {TALLY.failures[name]:>6} {figures}"
        )
    steady = {name: samples for name, samples in TALLY.steady(SETTLE_SECONDS).items() if samples}
    if steady:
        print(
            f"\nThe same from {SETTLE_SECONDS:.0f} s after the last user started (the whole "
            "run above includes the ramp, when every user opens its first page):"
        )
        print(f"{'request':<28} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for name in sorted(steady):
            figures = " ".join(f"{percentile(steady[name], p):8.1f}" for p in (50, 95, 99))
            print(f"{name:<28} {len(steady[name]):>7} {figures}")
    total = sum(len(s) for s in TALLY.samples.values())
    failed, conflicts = sum(TALLY.failures.values()), sum(TALLY.conflicts.values())
    share = 100 / max(total, 1)
    print(
        f"\n{total} requests in {seconds:.0f} s ({total / max(seconds, 1e-9):.1f}/s); "
        f"409 (stale version, expected): {conflicts} ({conflicts * share:.2f} %); "
        f"failures: {failed} ({failed * share:.2f} %)"
    )
    for example in TALLY.examples:
        print(f"  failure: {example}")
    return total, failed


# --- the checks --------------------------------------------------------------------------------

CHECKS = {
    "no deal sits in another pipeline's stage": (
        "SELECT count(*) FROM deals_deal d JOIN deals_stage s ON s.id = d.stage_id"
        " WHERE s.pipeline_id <> d.pipeline_id"
    ),
    "no two deals share a position in a column": (
        "SELECT count(*) FROM (SELECT 1 FROM deals_deal GROUP BY stage_id, position"
        " HAVING count(*) > 1) AS shared"
    ),
    "notification keys are unique": (
        "SELECT count(*) FROM (SELECT 1 FROM deals_notification GROUP BY dedupe_key"
        " HAVING count(*) > 1) AS twice"
    ),
    "column totals match their deals": (
        "SELECT count(*) FROM (SELECT stage_id, status, owner_id, count(*) AS n,"
        " coalesce(sum(amount), 0) AS amount FROM deals_deal GROUP BY 1, 2, 3) AS d"
        " FULL JOIN deals_columntotal t USING (stage_id, status, owner_id)"
        " WHERE coalesce(d.n, 0) <> coalesce(t.deals, 0)"
        " OR coalesce(d.amount, 0) <> coalesce(t.amount_sum, 0)"
    ),
}


def broken(url: str) -> dict[str, int]:
    """How many rows break each invariant of CHECKS."""
    with psycopg.connect(url) as conn:
        return {name: (conn.execute(q).fetchone() or (-1,))[0] for name, q in CHECKS.items()}


def check(url: str, last_history_id: int) -> bool:
    """Print each invariant with what was found; True when all hold."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT deal_id, count(*) FROM deals_stagechange WHERE id > %s GROUP BY deal_id",
            [last_history_id],
        ).fetchall()
    history = Counter({deal_id: n for deal_id, n in rows})
    differ = sorted(pk for pk in set(history) | set(TALLY.moved) if history[pk] != TALLY.moved[pk])
    moves, written = sum(TALLY.moved.values()), sum(history.values())
    results = [
        (
            "every successful move has exactly one stage-history row",
            not differ and moves > 0,
            f"{moves} moves seen to succeed, {written} new stage-history rows, "
            f"{len(differ)} deals differ {differ[:5]}",
        ),
        *[(name, n == 0, f"{n} found") for name, n in broken(url).items()],
    ]
    print("\nChecks:")
    for name, ok, detail in results:
        print(f"  [{'ok' if ok else 'FAILED'}] {name}: {detail}")
    return all(ok for _, ok, _ in results)


def prepared(args: argparse.Namespace, url: str) -> tuple[Plan, int]:
    """The database seeded and its invariants holding; the plan of the run."""
    prepare(url, args.deals, reuse=args.reuse_database)
    managers = max(1, args.users // 5)
    plan, last_history_id = plan_from(url, args.users - managers, managers)
    already = [name for name, n in broken(url).items() if n]
    if already:
        sys.exit(f"The database breaks these before the run (use a fresh one): {already}")
    return plan, last_history_id


def main() -> None:
    args = arguments()
    throwaway = args.smoke and not args.reuse_database
    url = database_url(args.database, throwaway=throwaway)
    begun = time.perf_counter()
    try:
        with gunicorn(url, args.port or free_port(), args.workers) as server:
            plan, last_history_id = prepared(args, url)
            load_users.PLAN = plan
            server.wait_until_up()
            sign_in(server.base, plan.reps + plan.managers)
            print(f"gunicorn up and accounts signed in after {time.perf_counter() - begun:.1f} s")
            load_before = load_average()
            cpu = Cpu(server, urlparse(url).path.lstrip("/"))
            seconds = run(server.base, args.users, args.duration, args.pace, args.ramp)
            cpu.stop()
            server_errors = server.errors()
        print_environment(args, url, load_before, cpu)
        _, failed = print_table(seconds)
        for line in server_errors[:20]:
            print(f"  server: {line}")
        failed += len(server_errors)
        passed = check(url, last_history_id)
    finally:
        if throwaway:
            drop_database(url)
    if failed or not passed:
        checks = "passed" if passed else "FAILED"
        sys.exit(f"Load test failed: {failed} failed requests or server errors; checks {checks}.")


if __name__ == "__main__":
    main()
