"""The deals list `/deals/` as the pipeline grows: pages, sorts, filters, the CSV, a bulk action.

    .venv/bin/python bench/deal_list.py [--deals 100000] [--repeat 15]

Works in a PostgreSQL database of its own (`crm_deal_list_bench`, or BENCH_DATABASE_URL; never
the one behind DATABASE_URL), topped up with `manage.py seed_demo --deals N` and vacuumed. Prints,
for a rep and for the admin (who sees every deal), the median and 90th-percentile server time
and the query count of the list's first page, sorted by another column, filtered, a page deep
in the list; the time and peak memory of the whole CSV; and a bulk reassign of 200 deals
(rolled back). Server time is the whole Django request in-process (test client, DEBUG off).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc

from _common import count_queries, fail_unless, get_ok, report, timed, use_bench_database
from _common import setup as _setup

BENCH_URL = use_bench_database("crm_deal_list_bench")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ["STATIC_MANIFEST"] = "false"


def seed(total: int) -> None:
    from django.core.management import call_command

    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", deals=total, verbosity=0, stdout=quiet)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE deals_deal")


def csv_export(client) -> None:
    """The whole CSV of what the user sees, streamed: rows and seconds, then (a second run, as
    tracing every allocation slows Python down several times) the peak Python memory."""

    def download() -> int:
        response = client.get("/deals/?status=all&format=csv")
        fail_unless(response.status_code == 200, response.status_code)
        return sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1

    start = time.perf_counter()
    rows = download()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    download()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  CSV of {rows:,} rows: {seconds:.1f} s, peak Python memory {peak / 2**20:.1f} MB")


def bulk_actions(admin, count: int) -> None:
    """A bulk reassign and a bulk delete of `count` deals, each rolled back."""
    from django.db import transaction

    from accounts.models import User
    from deals.models import Deal
    from deals.services import bulk

    ids = list(Deal.objects.order_by("pk").values_list("pk", flat=True)[:count])
    target = User.objects.filter(groups__name="rep").order_by("pk").last()
    actions = {
        "reassign": lambda deals: bulk.bulk_reassign(deals=deals, by=admin, owner=target),
        "delete (to the trash)": lambda deals: bulk.bulk_delete(deals=deals, by=admin),
    }
    for label, action in actions.items():
        start = time.perf_counter()
        with transaction.atomic():
            action(Deal.objects.filter(pk__in=ids))
            elapsed = time.perf_counter() - start
            transaction.set_rollback(True)
        each = elapsed / count * 1000
        print(f"  bulk {label} of {count} deals: {elapsed:.2f} s ({each:.1f} ms a deal)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    _setup(BENCH_URL)
    from django.test import Client

    from accounts.models import User
    from deals.models import Deal

    # The machine may be shared: a pure-Python loop shows how loaded it is (about 15-19 ms on an
    # idle core of the development machine), so the figures can be read against it.
    loop = statistics.median(timed(lambda: sum(range(1_000_000)), 5))
    print(f"CPU check: 1M-iteration Python loop {loop:.0f} ms")
    started = time.perf_counter()
    seed(args.deals)
    print(f"{Deal.objects.count():,} deals ({time.perf_counter() - started:.0f} s to prepare)")
    rep = (
        User.objects.filter(groups__name="rep", deals__isnull=False)
        .order_by("username")
        .distinct()
        .first()
    )
    admin = User.objects.filter(groups__name="admin").order_by("pk").first()
    for who in (rep, admin):
        client = Client()
        client.force_login(who)
        seen = Deal.objects.visible_to(who).count()
        print(f"as {who.username} ({who.role}, sees {seen:,} deals)")
        for label, url in (
            ("GET /deals/ (by close date)", "/deals/"),
            ("GET ?sort=-amount&status=all", "/deals/?sort=-amount&status=all"),
            ("GET ?sort=company", "/deals/?sort=company"),
            ("GET ?sort=-probability", "/deals/?sort=-probability"),
            ("GET ?q=acme&amount_min=5000", "/deals/?q=acme&amount_min=5000"),
            ("GET ?page=200 (offset 9,950)", "/deals/?page=200"),
        ):
            fn = get_ok(client, url)
            report(label, timed(fn, args.repeat), count_queries(fn))
        csv_export(client)
    bulk_actions(admin, 200)


if __name__ == "__main__":
    main()
