"""Stall detection over 100,000 deals: how long one sweep takes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pipeline_crm .venv/bin/python bench/stalls.py

Works in a throwaway database of its own (`bench_stalls_<name>`, created and dropped here), so
it never touches the data behind DATABASE_URL. Prints the time of a first sweep (every idle deal
flagged and its owner and managers notified), a second one (nothing changed) and one an hour
later, when 1 % of the deals went cold and 1 % were worked on. `--deals N` changes the size,
`--reps N` how many people own them (and so how many are told one notification per deal).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

import datetime as dt  # noqa: E402

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Team, User  # noqa: E402
from deals.models import Deal, Pipeline  # noqa: E402
from deals.stalls import detect_stalled_deals  # noqa: E402
from followups.models import Activity, Notification  # noqa: E402

CHUNK = 10_000


TEAMS = 5


def make_people(reps_wanted: int) -> list[User]:
    """`reps_wanted` reps in five teams, each team with a manager."""
    rep_group = Group.objects.get(name="rep")
    manager_group = Group.objects.get(name="manager")
    teams = [Team.objects.create(name=f"Bench team {t}") for t in range(TEAMS)]
    for t, team in enumerate(teams):
        boss = User.objects.create(username=f"bench-manager-{t}", email=f"m{t}@bench.example")
        boss.groups.add(manager_group)
        team.managers.add(boss)
    reps = User.objects.bulk_create(
        User(username=f"bench-rep-{r}", email=f"r{r}@bench.example") for r in range(reps_wanted)
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=rep.pk, group_id=rep_group.pk) for rep in reps
    )
    Team.members.through.objects.bulk_create(
        Team.members.through(team_id=teams[i % TEAMS].pk, user_id=rep.pk)
        for i, rep in enumerate(reps)
    )
    return reps


def make_deals(count: int, reps: list[User], rng: random.Random) -> None:
    pipeline = Pipeline.default()
    if pipeline is None:
        sys.exit("No default pipeline: the migrations create it.")
    stages = list(pipeline.stages.exclude(kind="won"))
    now = timezone.now()
    today = timezone.localdate()
    made = 0
    while made < count:
        batch = []
        for i in range(min(CHUNK, count - made)):
            stage = rng.choice(stages)
            entered = now - dt.timedelta(hours=rng.uniform(0, 24 * 90))
            touched = entered + dt.timedelta(hours=rng.uniform(0, 24 * 60))
            batch.append(
                Deal(
                    title=f"Bench deal {made + i}",
                    pipeline=pipeline,
                    stage=stage,
                    status="open" if stage.kind == "open" else "won",
                    owner=rng.choice(reps),
                    amount=rng.randint(1, 500) * 100,
                    expected_close_date=today + dt.timedelta(days=rng.randint(-60, 90)),
                    position=made + i,
                    stage_entered_at=entered,
                    last_activity_at=touched if rng.random() < 0.7 and touched < now else None,
                    next_step="Follow up" if rng.random() < 0.5 else "",
                    close_date_pushes=rng.choice((0, 0, 0, 1, 2, 3, 4)),
                )
            )
        Deal.objects.bulk_create(batch, batch_size=2000)
        made += len(batch)
    deal_ids = list(Deal.objects.values_list("pk", "owner_id"))
    planned = [
        Activity(
            subject="Planned call", owner_id=owner_id, deal_id=pk, due_at=now + dt.timedelta(days=3)
        )
        for pk, owner_id in rng.sample(deal_ids, k=len(deal_ids) * 3 // 10)
    ]
    Activity.objects.bulk_create(planned, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(label: str) -> None:
    started = time.perf_counter()
    result = detect_stalled_deals()
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {elapsed:6.2f} s   {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument(
        "--reps",
        type=int,
        default=50,
        help="owners of the deals (default 50; 10000 gives most reps ten stalls or fewer, so "
        "they are told one notification per deal: the sweep's most writing case)",
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the bench database")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set DATABASE_URL=postgres://…")
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"bench_stalls_{name}"
    creation = connection.creation
    old_name = creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=args.keep
    )
    try:
        if not Deal.objects.exists():
            rng = random.Random(42)  # noqa: S311 (made-up deals, seeded to repeat)
            started = time.perf_counter()
            make_deals(args.deals, make_people(args.reps), rng)
            print(f"{args.deals} deals ready in {time.perf_counter() - started:.1f} s")
        else:  # a kept database: start from no stalls again
            Deal.objects.update(stalled=False, stall_reasons=[], stalled_since=None)
            Notification.objects.all().delete()
        print(f"{Deal.objects.count()} deals, {Activity.objects.count()} planned activities")
        timed("first sweep (flag all idle deals, notify):")
        stalled = Deal.objects.filter(stalled=True).count()
        print(f"  {stalled} deals stalled, {Notification.objects.count()} notifications")
        timed("second sweep (nothing changed):")
        # An ordinary hour: 1 % of the deals go cold, 1 % get worked on.
        quiet = Deal.objects.filter(stalled=False, status="open").values_list("pk", flat=True)
        going_cold = list(quiet[: args.deals // 100])
        Deal.objects.filter(pk__in=going_cold).update(
            stage_entered_at=timezone.now() - dt.timedelta(days=60), last_activity_at=None
        )
        stalled_ids = Deal.objects.filter(stalled=True).values_list("pk", flat=True)
        worked_on = list(stalled_ids[: args.deals // 100])
        Deal.objects.filter(pk__in=worked_on).update(
            last_activity_at=timezone.now(), stalled=False, stall_reasons=[], stalled_since=None
        )
        timed(f"an hour later ({len(going_cold)} went cold, {len(worked_on)} worked on):")
    finally:
        if not args.keep:
            creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
