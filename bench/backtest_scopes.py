"""The forecast's accuracy goals (issue 14) on a seeded database: the company's month and
quarter backtest, and the p10–p90 coverage of every team's and every rep's months.

    BENCH_DATABASE_URL=postgres://…/crm_acc_bench .venv/bin/python bench/backtest_scopes.py

Uses an existing database filled by `manage.py seed_demo` (default `crm_acc_bench`). Prints, per
scope, the mean absolute error of the learned forecast, how many periods are within 10 % of
what was won, the share of periods whose won lies in p10–p90, and the Brier scores; then the
coverage pooled over the teams and over the reps (their months with something won or forecast).
"""

from __future__ import annotations

import os
import time

from _common import fail_unless, use_bench_database

use_bench_database("crm_acc_bench")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db.models import Q  # noqa: E402

from accounts.models import Role, Team, User  # noqa: E402
from deals.models import Deal  # noqa: E402
from forecasting.analytics.backtest import Backtest, backtest  # noqa: E402
from forecasting.analytics.scope import Scope  # noqa: E402


def line(label: str, result: Backtest) -> str:
    s = result.summary

    def pct(value: float | None) -> str:
        return "   –  " if value is None else f"{value * 100:5.1f}%"

    bias = [r.learned_error for r in result.rows if r.learned_error is not None]
    mean_bias = sum(bias) / len(bias) if bias else None
    return (
        f"  {label:<28} error {pct(s.learned_error)} (signed {pct(mean_bias)}, configured "
        f"{pct(s.configured_error)})  within 10 %: {s.learned_within_goal:>2}/{s.periods:<2}"
        f"  in p10–p90: {pct(s.coverage)}  Brier {s.brier_configured} → {s.brier_learned}"
    )


def pooled(results: list[Backtest]) -> str:
    rows = [r for result in results for r in result.rows if r.won or r.learned]
    inside = sum(r.in_band for r in rows)
    below = sum(r.won < r.p10 for r in rows)
    above = len(rows) - inside - below
    share = inside / len(rows) * 100
    return f"{share:.1f}% of {len(rows)} (below p10: {below}, above p90: {above})"


def main() -> None:
    fail_unless(Deal.objects.exists(), "an empty database: seed it with manage.py seed_demo")
    admin = (
        User.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
        .order_by("pk")
        .first()
    )
    fail_unless(admin is not None, "no admin")
    started = time.perf_counter()
    company = Scope(user=admin)
    for period in ("month", "quarter"):
        print(line(f"company by {period}", backtest(company, period=period)))
    teams = []
    for team in Team.objects.order_by("name"):
        result = backtest(Scope(user=admin, team=team))
        teams.append(result)
        print(line(f"team {team.name}", result))
    reps = []
    owners = User.objects.filter(pk__in=Deal.objects.values("owner_id")).order_by("username")
    for owner in owners:
        result = backtest(Scope(user=admin, owner=owner))
        reps.append(result)
        print(line(f"rep {owner.username}", result))
    print(f"teams' months in p10–p90: {pooled(teams)}")
    print(f"reps' months in p10–p90:  {pooled(reps)}")
    print(f"teams and reps pooled:    {pooled(teams + reps)}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
