"""The board's move POST through gunicorn, as a browser sends it: dropped at the top of the
other column and dropped under its third card, at each size.

    .venv/bin/python bench/board_http.py [--sizes 1000,100000] [--repeat 25]

Uses the databases `bench/board.py` fills (`crm_board_bench_<N>`, or BENCH_DATABASE_URL's name
with `_<N>`): run that first. Starts gunicorn (2 sync workers, DEBUG off) on each, signs the
bench rep in through a session, and times the whole HTTP round trip on loopback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlparse

from _common import ROOT, SERVER_ENVIRONMENT, Browser, fail_unless, free_port, start_gunicorn

BASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_board_bench")


def drops(browser: Browser, repeat: int, *, under_third: bool) -> list[float]:
    """Milliseconds of each move POST, the rep's deal going back and forth between the first
    two columns (finding the card to drop under is the bench's part, not timed)."""
    from accounts.models import User
    from deals.models import Deal, Pipeline

    rep = User.objects.get(username="ravi")
    stages = list(Pipeline.objects.get(is_default=True).stages.order_by("order")[:2])
    deal = Deal.objects.filter(owner=rep, stage__in=stages, status="open").order_by("pk").first()
    if deal is None:
        sys.exit("the rep has no open deal in the first two columns")
    samples = []
    for _ in range(repeat + 3):
        deal.refresh_from_db()
        target = stages[1] if deal.stage_id == stages[0].pk else stages[0]
        data: dict[str, object] = {"stage": target.pk, "version": deal.version, "after": ""}
        if under_third:
            column = Deal.objects.visible_to(rep).filter(stage=target, status__in=["open", "won"])
            ids = list(column.order_by("position", "id").values_list("pk", flat=True)[:3])
            data["after"] = ids[-1] if ids else ""
        start = time.perf_counter()
        status = browser.post(f"/deals/{deal.pk}/move/", data)
        samples.append((time.perf_counter() - start) * 1000)
        fail_unless(status == 200, f"move answered {status}")
    return samples[3:]


def one_size(size: int, repeat: int) -> None:
    base = urlparse(BASE)
    url = base._replace(path=f"{base.path}_{size}").geturl()
    os.environ.update({**SERVER_ENVIRONMENT, "DATABASE_URL": url})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from demo.demo_data import DEMO_PASSWORD

    port = free_port()
    server = start_gunicorn(url, port, workers=2)
    try:
        browser = Browser(f"http://127.0.0.1:{port}", "ravi", DEMO_PASSWORD)
        print(f"{size:,} deals ({base.path.lstrip('/')}_{size}), gunicorn, 2 sync workers")
        for under_third, where in ((False, "at the top"), (True, "under the 3rd card")):
            samples = drops(browser, repeat, under_third=under_third)
            median, p90 = statistics.median(samples), statistics.quantiles(samples, n=10)[-1]
            print(f"  POST move, dropped {where:<20} median {median:6.1f} ms  p90 {p90:6.1f} ms")
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_size:
        one_size(args.one_size, args.repeat)
        return
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one-size", str(size), "--repeat", str(args.repeat)]
        subprocess.run(command, check=True)  # noqa: S603 - this script, a size of ours


if __name__ == "__main__":
    main()
