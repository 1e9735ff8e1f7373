"""`manage.py seed_demo [--deals N] [--reset] [--once]`: demo people, companies, leads and deals.

Idempotent: users, teams, companies, contacts, leads and quotas are created only when missing,
and deals are topped up until the demo users own N of them. Prints the demo logins.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Role
from demo import demo_data

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
            help="Only print the logins when demo deals exist already (what `make run` uses).",
        )
        parser.add_argument("--seed", type=int, default=2024, help="Random seed (default 2024).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["deals"] < 0:
            raise CommandError("--deals must be 0 or more.")
        if options["once"] and demo_data.demo_deals_queryset().exists():
            self.stdout.write("Demo data already loaded (`seed_demo --deals N` tops it up).")
            self._print_logins(demo_data.ensure_people())
            return
        started = time.perf_counter()
        try:
            result = demo_data.seed(
                deals=options["deals"], reset=options["reset"], random_seed=options["seed"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {result.deals_total} deals "
                f"({result.deals_created} new) in {elapsed:.1f} s."
            )
        )
        self._print_logins(result.cast)

    def _print_logins(self, cast: demo_data.Cast) -> None:
        self.stdout.write("")
        self.stdout.write("Sign in at /accounts/login/ with one of these demo accounts:")
        for person in demo_data.PEOPLE:
            if person.role == Role.ADMIN:
                what = "admin (also the Django admin at /admin/)"
            elif person.manages:
                what = f"manager of {person.manages}"
            else:
                what = f"rep in {person.team}"
            self.stdout.write(f"  {person.username:<8} {what}")
        self.stdout.write(f"Password: {demo_data.DEMO_PASSWORD}  (demo data: development only)")
        kept = [p.username for p in demo_data.PEOPLE if p.username not in cast.created_usernames]
        if kept and cast.created_usernames:
            self.stdout.write(f"({', '.join(kept)} existed before and kept their own password.)")
