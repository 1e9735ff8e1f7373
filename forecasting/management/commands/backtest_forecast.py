"""`manage.py backtest_forecast`: the accuracy panel's backtest as a table, on any database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.models import Role, Team, User
from deals.models import Pipeline
from forecasting.analytics.backtest import GOAL_ERROR, Backtest, backtest
from forecasting.analytics.scope import Scope

HEADINGS = ["period", "pipeline", "deals", "configured", "learned", "p10", "p90", "won"]
HEADINGS += ["conf err", "learn err", "in band", "brier conf", "brier learn"]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}%"


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def table_lines(result: Backtest) -> list[str]:
    """The backtest as fixed-width lines: one per period, then the summary."""
    lines = ["  ".join(f"{h:>12}" for h in HEADINGS)]
    for r in result.rows:
        cells: list[object] = [
            r.period,
            r.pipeline_from,
            r.deals,
            r.configured,
            r.learned,
            r.p10,
            r.p90,
            r.won,
        ]
        cells += [
            _percent(r.configured_error),
            _percent(r.learned_error),
            "yes" if r.in_band else "no",
        ]
        cells += [_figure(r.brier_configured), _figure(r.brier_learned)]
        lines.append("  ".join(f"{c!s:>12}" for c in cells))
    s = result.summary
    lines += [
        "",
        f"{s.periods} {result.period}s in {result.currency}:",
        f"  mean absolute error  configured {_percent(s.configured_error)}"
        f"  learned {_percent(s.learned_error)}"
        f"  (learned within {GOAL_ERROR:.0%}: {s.learned_within_goal} of {s.periods})",
        f"  won inside p10–p90   {_percent(s.coverage).lstrip('+')} of periods",
        f"  Brier score          configured {_figure(s.brier_configured)}"
        f"  learned {_figure(s.brier_learned)}  over {s.brier_deals} deal-periods",
    ]
    return lines


class Command(BaseCommand):
    help = (
        "Backtest the forecast: each past period's forecast made at its start beside what was won."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", choices=("month", "quarter"), default="month")
        parser.add_argument("--pipeline", type=int, help="Pipeline id.")
        parser.add_argument("--team", type=int, help="Team id: deals of its members.")
        parser.add_argument("--owner", type=int, help="User id: deals of this rep.")
        parser.add_argument("--currency", default="", help="Three-letter code (default currency).")
        parser.add_argument(
            "--since", type=dt.date.fromisoformat, help="First period (YYYY-MM-DD)."
        )
        parser.add_argument("--until", type=dt.date.fromisoformat, help="Last period (YYYY-MM-DD).")

    def handle(self, *args: Any, **options: Any) -> None:
        result = backtest(
            _scope(options),
            period=options["period"],
            since=options["since"],
            until=options["until"],
        )
        self.stdout.write("\n".join(table_lines(result)))


def _scope(options: dict[str, Any]) -> Scope:
    """Everything (as an admin sees it), narrowed by the options."""
    admins = User.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
    viewer = admins.filter(is_active=True).order_by("pk").first()
    if viewer is None:
        raise CommandError("The backtest reads the deals as an admin sees them: create an admin.")
    try:
        return Scope(
            user=viewer,
            pipeline=Pipeline.objects.get(pk=options["pipeline"]) if options["pipeline"] else None,
            team=Team.objects.get(pk=options["team"]) if options["team"] else None,
            owner=User.objects.get(pk=options["owner"]) if options["owner"] else None,
            currency=(options["currency"] or "").upper(),
        )
    except (Pipeline.DoesNotExist, Team.DoesNotExist, User.DoesNotExist) as error:
        raise CommandError(str(error)) from error
