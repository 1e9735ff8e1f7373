"""REST API speed as the deals table grows: list pages, filters, history and moves.

    .venv/bin/python bench/api.py [--sizes 20,2000,100000] [--repeat 20]

Works in a database of its own (`crm_api_bench` unless BENCH_DATABASE_URL says otherwise;
created and migrated here, never the one behind DATABASE_URL). For each size it tops the deals
up with bulk inserts (two teams' reps own them), then prints for a rep and for the admin the
median server time and query count of:
- GET /api/deals/ (first page), GET /api/deals/?status=open&q=… and ?page=10,
- GET /api/deals/{id}/history/, POST /api/deals/{id}/move/.
Requests go through the Django test client with token auth, as a script would call the API.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import fail_unless, people, use_bench_database
from _common import setup as _setup

BENCH_URL = use_bench_database("crm_api_bench")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("THROTTLE_USER", "1000000/minute")


def setup() -> None:
    _setup(BENCH_URL)


def top_up(size: int, reps) -> None:
    from django.db import connection
    from django.utils import timezone

    from deals.models import Deal, Pipeline

    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("order"))
    have = Deal.objects.count()
    now = timezone.now()
    batch = []
    for i in range(have, size):
        batch.append(
            Deal(
                title=f"Bench deal {i}",
                pipeline=pipeline,
                stage=stages[i % 5],
                owner=reps[i % len(reps)],
                amount=1000 + i % 9000,
                position=i * 1024,
                stage_entered_at=now,
            )
        )
        if len(batch) == 5000:
            Deal.objects.bulk_create(batch)
            batch = []
    Deal.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deals_deal")  # fresh statistics, as autovacuum would soon give


def client_for(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def measure(call, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = call()
            times.append(time.perf_counter() - start)
        fail_unless(response.status_code < 400, response.status_code, response.content[:300])
        queries = len(captured)
    return statistics.median(times) * 1000, queries


def bench(size: int, reps, admin, repeat: int) -> None:
    from deals.models import Deal

    for label, user in (("rep", reps[0]), ("admin", admin)):
        client = client_for(user)
        deal = Deal.objects.filter(owner=reps[0]).order_by("id").first()
        stages = list(deal.pipeline.stages.order_by("order").values_list("pk", flat=True))[:5]
        state = {"i": 0}

        def move(client=client, deal=deal, stages=stages, state=state):
            state["i"] += 1
            version = Deal.objects.values_list("version", flat=True).get(pk=deal.pk)
            return client.post(
                f"/api/deals/{deal.pk}/move/",
                {"stage": stages[state["i"] % len(stages)], "version": version},
                format="json",
            )

        rows = [
            ("GET /api/deals/", lambda c=client: c.get("/api/deals/")),
            (
                "GET ?status=open&q=deal 1",
                lambda c=client: c.get("/api/deals/?status=open&q=deal 1"),
            ),
            ("GET ?page=10", lambda c=client: c.get("/api/deals/?page=10")),
            ("GET history", lambda c=client, d=deal: c.get(f"/api/deals/{d.pk}/history/")),
            ("POST move", move),
        ]
        for name, call in rows:
            if name == "GET ?page=10" and size < 500:
                continue
            ms, queries = measure(call, repeat)
            print(f"{size:>8,} deals  {label:<5}  {name:<28} {ms:8.1f} ms  {queries:>2} queries")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="20,2000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    setup()
    reps, admin = people()
    for size in sorted(int(s) for s in args.sizes.split(",")):
        top_up(size, reps)
        bench(size, reps, admin, args.repeat)


if __name__ == "__main__":
    main()
