"""How long a merge takes as the merged record's history grows, and the duplicates list.

    .venv/bin/python bench/merge.py [--activities 1000,10000] [--deals 100] [--repeat 5]

Works in a database of its own (`crm_merge_bench` unless BENCH_DATABASE_URL says otherwise;
created and migrated here). For each size: a contact with N activities and D deals is merged
into another (`people.merge.merge_contacts`, one transaction), `repeat` times with fresh
records; prints the median and worst wall time, the query count, and the rows moved. Then the
contacts are topped up to `--contacts` (1 in 50 a likely duplicate) and the duplicates list
(`duplicate_groups`) is timed for a rep (every contact is in sight).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time

from _common import count_queries, fail_unless, people, use_bench_database
from _common import setup as _setup

BENCH_URL = use_bench_database("crm_merge_bench")
os.environ.setdefault("DEBUG", "true")


def _pair(rep, activities: int, deals: int):
    from contacts.models import Contact
    from deals.models import Deal, Pipeline
    from followups.models import Activity

    keep = Contact.objects.create(first_name="Keep", last_name="Bench", owner=rep)
    other = Contact.objects.create(first_name="Keep", last_name="Bench", owner=rep, phone="1")
    pipeline = Pipeline.default()
    stage = pipeline.stages.order_by("order").first()
    Deal.objects.bulk_create(
        Deal(
            title=f"Bench merge {i}",
            pipeline=pipeline,
            stage=stage,
            owner=rep,
            contact=other,
            stage_entered_at=keep.created_at,
            position=i,
        )
        for i in range(deals)
    )
    Activity.objects.bulk_create(
        Activity(kind="call", subject=f"Call {i}", owner=rep, contact=other)
        for i in range(activities)
    )
    return keep, other


def bench_merge(rep, activities: int, deals: int, repeat: int) -> None:
    from people.merge import merge_contacts

    samples, queries, moved = [], 0, {}
    for _ in range(repeat):
        keep, other = _pair(rep, activities, deals)
        start = time.perf_counter()
        result = merge_contacts(survivor=keep, other=other, by=rep)
        samples.append((time.perf_counter() - start) * 1000)
        moved = result.moved
        fail_unless(moved.get("activities") == activities, moved)
    keep, other = _pair(rep, activities, deals)
    queries = count_queries(lambda: merge_contacts(survivor=keep, other=other, by=rep))
    print(
        f"merge contact, {activities:>6} activities, {deals:>4} deals: "
        f"median {statistics.median(samples):7.1f} ms, worst {max(samples):7.1f} ms, "
        f"{queries} queries, moved {moved}"
    )


def _word(n: int, salt: str) -> str:
    """A made-up name of 7 letters: as varied in its trigrams as real names are."""
    digest = hashlib.sha256(f"{salt}{n}".encode()).digest()
    return "".join(chr(ord("a") + byte % 26) for byte in digest[:7]).capitalize()


def top_up_contacts(reps, size: int) -> None:
    """Contacts up to `size`, one in 50 sharing its name with another (a likely duplicate)."""
    from contacts.models import Contact

    have = Contact.objects.count()
    for start in range(have, size, 5000):
        Contact.objects.bulk_create(
            Contact(
                first_name=_word(i - 1 if i % 50 == 0 else i, "first"),
                last_name=_word(i - 1 if i % 50 == 0 else i, "last"),
                email=f"bench{i}@bench.example",
                owner=reps[i % len(reps)],
            )
            for i in range(start, min(start + 5000, size))
        )


def bench_duplicates(rep) -> None:
    from django.db import connection

    from contacts.models import Contact
    from people.duplicates import duplicate_groups

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")

    start = time.perf_counter()
    groups = duplicate_groups(Contact, user=rep)
    took = (time.perf_counter() - start) * 1000
    print(
        f"duplicate groups over {Contact.objects.count():,} contacts: "
        f"{took:.0f} ms, {len(groups)} groups"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", default="1000,10000")
    parser.add_argument("--deals", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=50000, help="for the duplicates list")
    args = parser.parse_args()
    _setup(BENCH_URL)
    reps, _ = people()
    for size in (int(n) for n in args.activities.split(",")):
        bench_merge(reps[0], size, args.deals, args.repeat)
    top_up_contacts(reps, args.contacts)
    bench_duplicates(reps[0])


if __name__ == "__main__":
    main()
