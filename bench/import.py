"""A 100,000-row deals CSV (with its companies and contacts) validated and imported on PostgreSQL.

    .venv/bin/python bench/import.py [--rows 100000] [--companies 5000] [--contacts 20000]

Works in a database of its own (`crm_import_bench`, or BENCH_DATABASE_URL; created and migrated
here), never the one DATABASE_URL names. Writes the CSV to a temporary file, then runs the two
passes the Celery tasks run (eagerly, in this process): validation, then the commit in one
transaction. Prints rows/s of each, the total, and the peak RSS of this process. Target: under
60 s in all, in memory that does not grow with the file (the rows are streamed).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DEBUG", "true")

from _common import fail_unless, people, server_cpu_seconds, setup, use_bench_database

BENCH_URL = use_bench_database("crm_import_bench")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall time, this process's CPU and its PostgreSQL backend's CPU since the last lap."""

    def __init__(self) -> None:
        self.marks = self.now()

    @staticmethod
    def now() -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), server_cpu_seconds() or 0.0

    def lap(self) -> tuple[float, float, float]:
        now = self.now()
        lap = (now[0] - self.marks[0], now[1] - self.marks[1], now[2] - self.marks[2])
        self.marks = now
        return lap


def report(label: str, rows: int, lap: tuple[float, float, float]) -> None:
    wall, python, server = lap
    print(
        f"{label:9} {wall:6.1f} s  {rows / wall:8,.0f} rows/s   "
        f"CPU: Python {python:5.1f} s + PostgreSQL {server:5.1f} s = {python + server:5.1f} s"
    )


def write_csv(path: Path, rows: int, companies: int, contacts: int, owners: list[str]) -> None:
    """Deals in the style of a CRM export: `;`-separated, a BOM, European amounts and dates,
    every stage of the default pipeline's open ones, companies and contacts repeated."""
    rng = random.Random(7)  # noqa: S311 - made-up data
    stages = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("Title;Amount;Stage;Owner;Company;Contact;Contact e-mail;Expected close date\n")
        for n in range(rows):
            person = rng.randrange(contacts)
            amount = f"{rng.randrange(500, 250_000):,}".replace(",", ".") + ",00"
            day = f"{rng.randrange(1, 28):02d}/{rng.randrange(1, 13):02d}/2027"
            out.write(
                f'"Deal {n}: renewal";"{amount}";{rng.choice(stages)};{rng.choice(owners)};'
                f"Company {rng.randrange(companies)};Person {person};"
                f"person{person}@bench-import.example;{day}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=5_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    args = parser.parse_args()
    setup(BENCH_URL)

    from django.conf import settings
    from django.core.files import File

    from imports import services
    from imports.models import Import
    from pipeline_crm.celery import app

    app.conf.task_always_eager = True  # the tasks run here, as a worker would run them
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="crm-import-bench-")
    reps, admin = people()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deals.csv"
        write_csv(path, args.rows, args.companies, args.contacts, [r.username for r in reps])
        size = path.stat().st_size
        load = os.getloadavg()[0]
        print(f"file: {args.rows:,} rows, {size / 2**20:.1f} MB; load average {load:.1f}")
        clock = Clock()
        with path.open("rb") as handle:
            batch = services.start_import(by=admin, kind="deals", upload=File(handle, "deals.csv"))
        validated = clock.lap()
        fail_unless(batch.status == "ready" and batch.error_rows == 0, batch.status, batch.failure)
        batch = services.commit_import(by=admin, batch=batch, mode="all_or_nothing")
        committed = clock.lap()
    fail_unless(batch.status == "done" and batch.created == args.rows, batch.status, batch.created)
    report("validate", args.rows, validated)
    report("commit", args.rows, committed)
    total = tuple(a + b for a, b in zip(validated, committed, strict=True))
    report("total", args.rows, total)  # type: ignore[arg-type]
    print(f"peak RSS {peak_rss_mb():.0f} MB; records noted for undo: {batch.records.count():,}")
    services.undo_import(by=admin, batch=Import.objects.get(pk=batch.pk))
    report("undo", args.rows, clock.lap())


if __name__ == "__main__":
    main()
