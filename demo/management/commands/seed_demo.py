"""`manage.py seed_demo [--deals N] [--reset] [--once] [--recount]`: demo people, companies,
leads and deals.

Idempotent: users, teams, companies, contacts, leads and quotas are created only when missing,
and deals are topped up until the demo users own N of them. Prints the demo logins (not with
`--once`: `make run` prints them in its banner once the server answers).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import bulk_load, demo_data
from demo.logins import login_lines

DEFAULT_DEALS = 500


class Command(BaseCommand):
    help = "Load demo users, teams, companies, contacts, leads, quotas and deals (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deals",
            type=int,
            default=DEFAULT_DEALS,
            help=f"How many deals the demo users should own in all (default {DEFAULT_DEALS}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete everything the demo users own first (the users and teams stay).",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help=(
                "Load the demo data only when there are no demo deals yet, and leave the logins "
                "to `manage.py logins` (what `make run` uses)."
            ),
        )
        parser.add_argument("--seed", type=int, default=2024, help="Random seed (default 2024).")
        parser.add_argument(
            "--recount",
            action="store_true",
            help=(
                "Only count every running count afresh (PostgreSQL), e.g. after a big load was "
                "killed before its own recount."
            ),
        )
        parser.add_argument(
            "--snapshot-days",
            type=int,
            default=None,
            help=(
                "Daily forecast snapshots to rebuild from the deals' history, up to today "
                f"(default {demo_data.SNAPSHOT_DAYS}; none above "
                f"{demo_data.SNAPSHOT_MAX_DEALS:,} deals unless given)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["deals"] < 0:
            raise CommandError("--deals must be 0 or more.")
        if (options["snapshot_days"] or 0) < 0:
            raise CommandError("--snapshot-days must be 0 or more.")
        if options["recount"]:
            bulk_load.recount(bulk_load.trigger_mode())
            self.stdout.write("Running counts recounted.")
            return
        if options["once"] and demo_data.demo_deals_queryset().exists():
            demo_data.ensure_people()
            self.stdout.write("Demo data already loaded (`seed_demo --deals N` tops it up).")
            return
        started = time.perf_counter()
        try:
            result = demo_data.seed(
                deals=options["deals"],
                reset=options["reset"],
                random_seed=options["seed"],
                snapshot_days=options["snapshot_days"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {result.deals_total} deals "
                f"({result.deals_created} new), {result.snapshots_created} forecast snapshot "
                f"rows in {elapsed:.1f} s."
            )
        )
        if not options["once"]:
            self.stdout.write("")
            self.stdout.write("\n".join(login_lines(f"{settings.SITE_URL}/accounts/login/")))
        self._say_who_kept_a_password(result.cast)

    def _say_who_kept_a_password(self, cast: demo_data.Cast) -> None:
        kept = [p.username for p in demo_data.PEOPLE if p.username not in cast.created_usernames]
        if kept and cast.created_usernames:
            self.stdout.write(f"({', '.join(kept)} existed before and kept their own password.)")
