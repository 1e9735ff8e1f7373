"""CSV export speed and memory: `/api/deals/?format=csv` and `/leads/?format=csv` at 10,000 and
100,000 rows.

    .venv/bin/python bench/export.py [--sizes 10000,100000]

Works in a database of its own (`crm_export_bench` unless BENCH_DATABASE_URL says otherwise;
created and migrated here, never the one behind DATABASE_URL). For each size (ascending) it tops
the deals and leads up to that many with COPY (`pipeline_crm.db.bulk_insert`; two teams' reps
own them), runs VACUUM (ANALYZE), then for each export starts a fresh Python process that signs
in as the admin, asks for the CSV through the Django test client and reads the stream to its
end, printing the rows, seconds, rows/s (and the CPU seconds the process spent: on a shared
machine the wall clock also counts other work), the growth of the process's peak RSS over the
request (`resource.getrusage`) and the peak of Python allocations during it (`tracemalloc`, a
second, slower pass). Memory that stays flat from 10,000 to 100,000 rows shows the rows are
streamed, never all held.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from _common import fail_unless, people, use_bench_database
from _common import setup as _setup

BENCH_URL = use_bench_database("crm_export_bench")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("THROTTLE_USER", "1000000/minute")

EXPORTS = ("/api/deals/?format=csv", "/leads/?format=csv")
BATCH = 10_000


def top_up(size: int, reps) -> None:
    from django.utils import timezone

    from contacts.models import Lead
    from deals.models import Deal, Pipeline
    from pipeline_crm.db import bulk_insert

    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.filter(kind="open").order_by("order"))
    now = timezone.now()
    for start in range(Deal.objects.count(), size, BATCH):
        deals = [
            Deal(
                title=f"Bench deal {i}",
                pipeline=pipeline,
                stage=stages[i % len(stages)],
                owner=reps[i % len(reps)],
                amount=1000 + i % 9000,
                position=i * 1024,
                stage_entered_at=now,
                next_step="=call back" if i % 10 == 0 else "Send the proposal",
            )
            for i in range(start, min(start + BATCH, size))
        ]
        bulk_insert(Deal, deals)
    for start in range(Lead.objects.count(), size, BATCH):
        leads = [
            Lead(
                first_name=f"Lead{i}",
                last_name=f"Bench{i % 991}",
                email=f"lead{i}@prospect{i % 5000}.example",
                company_name=f"Prospect {i % 5000}",
                owner=reps[i % len(reps)],
                score=i % 100,
            )
            for i in range(start, min(start + BATCH, size))
        ]
        bulk_insert(Lead, leads)


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM (ANALYZE) deals_deal")
        cursor.execute("VACUUM (ANALYZE) contacts_lead")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _download(client, url: str) -> tuple[int, int]:
    """Ask for the CSV and read it to the end: (rows, bytes)."""
    response = client.get(url)
    fail_unless(response.status_code == 200, url, response.status_code)
    fail_unless(response.streaming, url, "not streamed")
    lines = size = 0
    for piece in response.streaming_content:
        lines += piece.count(b"\n")
        size += len(piece)
    response.close()
    return lines - 1, size


def measure(url: str) -> None:
    """In a fresh process: one timed download, then one under tracemalloc."""
    _setup(BENCH_URL)
    from django.test import Client

    _, admin = people()
    client = Client()
    client.force_login(admin)
    client.get(url.replace("format=csv", "page=1"))  # warm: imports, templates, caches
    before = _peak_rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    rows, size = _download(client, url)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    grown = _peak_rss_mib() - before
    tracemalloc.start()
    _download(client, url)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{url:<26} {rows:>8,} rows {size / 2**20:7.1f} MiB {seconds:7.2f} s"
        f" {rows / seconds:>7,.0f} rows/s (CPU {cpu:6.2f} s)  peak RSS +{grown:5.1f} MiB"
        f"  Python peak {traced_peak / 2**20:6.1f} MiB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one export, in a child process
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    _setup(BENCH_URL)
    reps, _ = people()
    for size in sorted(int(s) for s in args.sizes.split(",")):
        top_up(size, reps)
        vacuum_analyze()
        print(f"--- {size:,} deals and leads", flush=True)
        for url in EXPORTS:
            subprocess.run(  # noqa: S603 - this script, with its own arguments
                [sys.executable, str(Path(__file__)), "--measure", url], check=True
            )


if __name__ == "__main__":
    main()
