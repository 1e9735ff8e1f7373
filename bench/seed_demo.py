"""How long `manage.py seed_demo --deals N` takes, on a throwaway PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pipeline_crm .venv/bin/python bench/seed_demo.py
    ... bench/seed_demo.py --deals 100000 --deals 1000 [--serial]

Creates `bench_seed_<name>` next to the database DATABASE_URL names (which it never touches),
migrates it, and for each N prints the seconds of: a first seed of N deals, a second run (must
create nothing), a top-up to N + 10 %, and a reset followed by a new seed of N. Then the rows
written. The target: 100,000 deals in under a minute on PostgreSQL.

The seed writes from a second thread while it generates the next batch; `--serial` does both on
one thread, and then the CPU time of the PostgreSQL backend is measured too (from /proc): on a
busy machine wall time waits for CPU, and Python + PostgreSQL CPU is what an idle one needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from _common import load_average, server_cpu_seconds  # noqa: E402
from django.db import connection  # noqa: E402

from deals.models import Deal, FieldChange, StageChange  # noqa: E402
from demo import deal_loading, demo_data  # noqa: E402
from followups.models import Activity  # noqa: E402


def timed(label: str, **kwargs: object) -> demo_data.SeedResult:
    """Wall time, and the CPU the seed used here and in PostgreSQL: on a busy machine the wall
    time waits for the CPU, and the two CPU figures added up tell what an idle machine needs."""
    server_before = server_cpu_seconds()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = demo_data.seed(**kwargs)  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_after = server_cpu_seconds()
    server = ""
    if not deal_loading.WRITE_IN_BACKGROUND and None not in (server_before, server_after):
        server = f" + {server_after - server_before:6.2f} s PostgreSQL"  # type: ignore[operator]
    print(
        f"  {label:<26} {seconds:7.2f} s wall | CPU: {cpu:6.2f} s Python{server}"
        f" | {result.deals_created:>7} deals created"
    )
    return result


def rows_written() -> str:
    counts = {
        "deals": Deal.objects.count(),
        "stage changes": StageChange.objects.count(),
        "field changes": FieldChange.objects.count(),
        "activities": Activity.objects.count(),
    }
    return ", ".join(f"{n:,} {what}" for what, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, action="append", help="N (repeatable)")
    parser.add_argument("--serial", action="store_true", help="write on the generating thread")
    args = parser.parse_args()
    sizes = args.deals or [100_000]
    deal_loading.WRITE_IN_BACKGROUND = not args.serial
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the figure that matters is PG's.")
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"bench_seed_{name}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        for n in sizes:
            mode = "one thread" if args.serial else "writer thread"
            where = connection.settings_dict["NAME"]
            print(f"seed_demo --deals {n:,} on PostgreSQL, {mode} ({where}):")
            timed("first seed", deals=n, reset=True)
            timed("second run (idempotent)", deals=n)
            timed(f"top-up to {n + n // 10:,}", deals=n + n // 10)
            timed("reset + seed again", deals=n, reset=True)
            print(f"  rows now: {rows_written()}")
            print(f"  load average (1, 5, 15 min): {load_average()} on {os.cpu_count()} cores")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
