"""Board speed as the pipeline grows: the page for a rep and an admin, a column page, a move.

    .venv/bin/python bench/board.py [--sizes 1000,100000] [--repeat 25]

Works in PostgreSQL databases of its own, one per size (`crm_board_bench_<N>`, next to
BENCH_DATABASE_URL's server; created and migrated here, never the one behind DATABASE_URL), each
size in a subprocess of its own. For each size it tops
the deals up with `manage.py seed_demo --deals N` (or, where that command does not exist, a bulk
insert of its own), runs VACUUM ANALYZE as autovacuum would, then prints for a rep and for the
admin (who sees the whole pipeline) the median and 90th-percentile server time and the query
count of GET /board/, its column totals alone (read from the running totals PostgreSQL keeps,
and counted from the deals as a text or date filter needs), and a column's "show more" page;
then a move's median server time and query count: the whole POST /deals/<id>/move/ between two
columns as the board sends it (the move, then the moved card and both column headers drawn
again), dropped at the top of the column and dropped under its third card, and `move_deal()`
itself, both ways.

Server time is the whole Django request in-process (middleware, view, SQL, template), measured
with the test client, without the network. Targets (issue 3): board ≤ 50 ms with ≤ 12 queries,
move ≤ 8 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlparse

from _common import count_queries, fail_unless, get_ok, report, timed, use_bench_database
from _common import setup as _setup

BENCH_URL = use_bench_database("crm_board_bench")
# Production-like: no DEBUG (no query log kept), plain http through the test client.
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ["STATIC_MANIFEST"] = "false"


def setup() -> None:
    _setup(BENCH_URL)


# --- data ---------------------------------------------------------------------------------------


def seed(total: int) -> str:
    """Top the deals up to `total`; returns how."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", deals=total, verbosity=0, stdout=quiet)
        return "seed_demo"
    except (CommandError, LookupError, ImportError) as exc:
        print(f"  (seed_demo unavailable: {exc}; bulk insert instead)")
    bulk_seed(total)
    return "bulk insert"


def bulk_seed(total: int) -> None:
    """Users in two teams and `total` deals spread over the default pipeline's stages."""
    import random
    from decimal import Decimal

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.models import Team, User
    from deals.models import Deal, Pipeline

    reps = []
    for team_name, names in (("North", ["rita", "ravi", "rosa"]), ("South", ["sam", "sara"])):
        team, _ = Team.objects.get_or_create(name=team_name)
        for name in names:
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.groups.add(Group.objects.get(name="rep"))
                team.members.add(user)
            reps.append(user)
    admin, created = User.objects.get_or_create(username="admin")
    if created:
        admin.groups.add(Group.objects.get(name="admin"))
    pipeline = Pipeline.default()
    stages = list(pipeline.stages.order_by("order"))
    missing = total - Deal.objects.count()
    rng = random.Random(7)  # noqa: S311 (made-up deals, seeded to repeat)
    now = timezone.now()
    batch = []
    for i in range(max(missing, 0)):
        stage = stages[rng.randrange(len(stages))]
        status = "open" if stage.kind == "open" else "won"
        if rng.random() < 0.12:
            status = "lost"
        batch.append(
            Deal(
                title=f"Bench deal {i}",
                pipeline=pipeline,
                stage=stage,
                status=status,
                amount=Decimal(rng.randrange(1000, 90000)),
                probability_override=rng.choice([None, None, None, 40, 70]),
                owner=reps[rng.randrange(len(reps))],
                position=rng.randrange(0, 10**9),
                stage_entered_at=now,
            )
        )
        if len(batch) == 5000:
            Deal.objects.bulk_create(batch)
            batch = []
    Deal.objects.bulk_create(batch)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE deals_deal")
        cursor.execute("VACUUM ANALYZE deals_activity")


# --- measuring ---------------------------------------------------------------------------------


def bench_size(total: int, repeat: int) -> None:
    from django.test import Client

    from accounts.models import User
    from deals.models import Deal, Pipeline

    started = time.perf_counter()
    how = seed(total)
    vacuum()
    pipeline = Pipeline.default()
    deals = Deal.objects.filter(pipeline=pipeline)
    print(f"\n{deals.count():,} deals ({how}, {time.perf_counter() - started:.0f} s to prepare)")
    rep = (
        User.objects.filter(groups__name="rep", deals__isnull=False)
        .order_by("username")
        .distinct()
        .first()
    )
    admin = User.objects.filter(groups__name="admin").order_by("pk").first()
    first = pipeline.stages.order_by("order").first()
    for who in (rep, admin):
        client = Client()
        client.force_login(who)
        visible = Deal.objects.visible_to(who).filter(pipeline=pipeline).count()
        board = get_ok(client, "/board/")
        more = get_ok(client, f"/board/{pipeline.pk}/stages/{first.pk}/cards/?after=0:0")
        print(f"  as {who.username} ({who.role}, sees {visible:,} deals)")
        report("GET /board/", timed(board, repeat), count_queries(board))
        report(
            "  its column totals (running)", timed(totals_of(who, pipeline, counted=False), repeat)
        )
        report(
            "  column totals counted instead", timed(totals_of(who, pipeline, counted=True), repeat)
        )
        report(
            "GET /board/?owner=me&q=deal", timed(get_ok(client, "/board/?owner=me&q=deal"), repeat)
        )
        report("GET a column's next page", timed(more, repeat), count_queries(more))
    bench_moves(rep, pipeline, repeat)


def totals_of(user, pipeline, *, counted: bool):
    """All column totals as the board reads them: the running totals PostgreSQL keeps, or
    (`counted`) by counting the deals, as a text or date filter needs."""
    from accounts.visibility import is_admin
    from deals.selectors import (
        BoardFilters,
        board_deals,
        column_totals,
        owner_choices,
        stored_column_totals,
    )

    stages = list(pipeline.stages.order_by("order"))
    filters = BoardFilters()
    # As the board does: the visible owners (its owner filter's list) narrow the scans.
    owners = None if is_admin(user) else [o.pk for o in owner_choices(user)]

    def count():
        deals = board_deals(user, pipeline, filters, owners)
        return column_totals(deals, stages, filters.statuses())

    def stored():
        return stored_column_totals(user, filters, stages)

    return count if counted else stored


def bench_moves(rep, pipeline, repeat: int) -> None:
    """A deal of the rep goes back and forth between the first two columns: dropped at the top
    of the other column, or under its third card as the rep's board shows it (what board.js
    sends: `after=<that card's id>`); then `move_deal()` alone, both ways."""
    from django.test import Client

    from deals import services
    from deals.models import Deal

    stages = [s for s in pipeline.stages.order_by("order") if not s.required_fields][:2]
    deal = Deal.objects.filter(owner=rep, status="open", stage__in=stages).first()
    if deal is None:
        print("  (no open deal of the rep in the first stages: moves skipped)")
        return
    client = Client()
    client.force_login(rep)
    state = {"deal": deal}

    def card_at(stage, index: int) -> int | None:
        """The card at `index` of the column on the rep's board (the bench's part, not timed)."""
        column = (
            Deal.objects.visible_to(rep)
            .filter(stage=stage, status__in=["open", "won"])
            .exclude(pk=state["deal"].pk)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
        ids = list(column[: index + 1])
        return ids[-1] if ids else None

    def drop(under_third: bool):
        """The next drop into the other column as board.js sends it: (the deal, the target
        stage, the POST data). Under a card: `after=<its id>`; at the top: `after=""`."""
        current = state["deal"]
        target = stages[1] if current.stage_id == stages[0].pk else stages[0]
        data = {"stage": target.pk, "version": current.version, "after": ""}
        if under_third:
            data["after"] = card_at(target, 2) or ""
        return current, target, data

    def post(current, target, data) -> None:
        response = client.post(f"/deals/{current.pk}/move/", data, HTTP_HX_REQUEST="true")
        fail_unless(response.status_code == 200, response.content[:300])

    def call_service(current, target, data) -> None:
        services.move_deal(
            deal=current,
            by=rep,
            stage=target,
            version=current.version,
            after_id=data["after"] or None,
            before_id=data.get("before") or None,
        )

    def timed_moves(under_third: bool, send) -> list[float]:
        # Finding the card and re-reading the deal belong to the bench: time the move only.
        samples = []
        for _ in range(repeat + 3):
            current, target, data = drop(under_third)
            start = time.perf_counter()
            send(current, target, data)
            samples.append((time.perf_counter() - start) * 1000)
            current.refresh_from_db()
        return samples[3:]

    def drop_queries(under_third: bool) -> int:
        """The POST's queries (until issue 9 the deal's refresh_from_db was counted too)."""
        current, target, data = drop(under_third)
        queries = count_queries(lambda: post(current, target, data))
        current.refresh_from_db()
        return queries

    ways = ((False, "at the top"), (True, "under the 3rd card"))
    for under_third, where in ways:
        samples = timed_moves(under_third, post)
        report(f"POST move, dropped {where}", samples, drop_queries(under_third))
    for under_third, where in ways:
        report(f"move_deal() alone, {where}", timed_moves(under_third, call_service))


def cpu_check() -> int:
    return sum(range(1_000_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_size:
        setup()
        print(f"\nDatabase {urlparse(BENCH_URL).path.lstrip('/')}", end="")
        bench_size(args.one_size, args.repeat)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"Board bench, {args.repeat} runs each")
    # The machine may be shared: a pure-Python loop shows how loaded it is (about 15 ms idle
    # on a current core), so the figures below can be read against it.
    print(f"CPU check: 1M-iteration Python loop {statistics.median(timed(cpu_check, 5)):.0f} ms")
    base = urlparse(BENCH_URL)
    for size in sizes:
        # A database per size: seed_demo only tops up, so sizes must not share one.
        url = base._replace(path=f"{base.path}_{size}").geturl()
        env = {**os.environ, "BENCH_DATABASE_URL": url}
        command = [sys.executable, __file__, "--one-size", str(size), "--repeat", str(args.repeat)]
        subprocess.run(command, env=env, check=True)  # noqa: S603 (this script, once per size)


if __name__ == "__main__":
    main()
