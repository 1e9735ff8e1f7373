"""Webhooks: what subscribing costs a change, and how fast deliveries go out.

    .venv/bin/python bench/webhooks.py [--changes 300] [--hooks 3]

Works in a database of its own (BENCH_DATABASE_URL, default `bench_webhooks` on the local
PostgreSQL). Prints the median time of `update_deal()` with no webhook and with `--hooks`
webhooks subscribed (the listener serialises the deal and writes one delivery row per
webhook after the commit; queueing the Celery task is left out), then the time `deliver()`
takes per delivery to a receiver on 127.0.0.1 (claim, sign, POST, record): median, p90 and
deliveries per second for one worker process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import setup, use_bench_database

os.environ.setdefault("DEBUG", "true")  # private targets allowed: the receiver is local
URL = use_bench_database("bench_webhooks")


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def time_changes(deal, admin, count: int) -> list[float]:
    from deals.services import update_deal

    timings = []
    for n in range(count):
        start = time.perf_counter()
        update_deal(deal=deal, by=admin, changes={"next_step": f"Call back #{n}"})
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--hooks", type=int, default=3)
    args = parser.parse_args()
    setup(URL)

    from django.contrib.auth.models import Group

    from accounts.models import User
    from deals.models import Deal
    from deals.services import create_deal
    from integrations import sending, tasks
    from integrations.models import Delivery, Event, Webhook

    Webhook.objects.all().delete()
    Deal.objects.filter(title="Webhook bench").delete()
    admin, _ = User.objects.get_or_create(username="bench-webhooks-admin")
    admin.groups.add(Group.objects.get(name="admin"))
    admin = User.objects.get(pk=admin.pk)
    deal = create_deal(by=admin, title="Webhook bench")
    tasks.queue = lambda ids: None  # measure the listener's own work, not the broker

    bare = time_changes(deal, admin, args.changes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    for _ in range(args.hooks):
        Webhook.objects.create(url=url, events=list(Event.values))
    subscribed = time_changes(deal, admin, args.changes)

    ids = list(Delivery.objects.values_list("pk", flat=True))
    sends = []
    started = time.perf_counter()
    for delivery_id in ids:
        start = time.perf_counter()
        state = sending.deliver(delivery_id)
        sends.append((time.perf_counter() - start) * 1000)
        if state != "delivered":
            raise SystemExit(f"delivery {delivery_id} ended {state}")
    elapsed = time.perf_counter() - started
    server.shutdown()

    print(f"update_deal(), no webhook:        median {statistics.median(bare):.2f} ms")
    print(
        f"update_deal(), {args.hooks} webhooks subscribed: median "
        f"{statistics.median(subscribed):.2f} ms ({len(ids)} deliveries written)"
    )
    print(
        f"deliver() to 127.0.0.1: median {statistics.median(sends):.2f} ms, "
        f"p90 {percentile(sends, 0.9):.2f} ms, {len(ids) / elapsed:.0f} deliveries/s "
        "(one process)"
    )
    Webhook.objects.all().delete()
    Deal.objects.filter(pk=deal.pk).delete()


if __name__ == "__main__":
    main()
