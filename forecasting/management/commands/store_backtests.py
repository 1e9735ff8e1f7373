"""`manage.py store_backtests [--day YYYY-MM-DD]`: what the nightly job stores for the accuracy
panel, now (`forecasting.tasks.store_forecast_backtests`): after a restore, an import of old
deals, or to fill a database seeded before the job ran."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from forecasting.tasks import store_forecast_backtests


class Command(BaseCommand):
    help = "Store the backtest of the last 12 months and 4 quarters, as the nightly job does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--day", type=dt.date.fromisoformat, help="As of this day (default today)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        day = options["day"]
        parts = store_forecast_backtests(day.isoformat() if day else None)
        self.stdout.write(
            f"Backtests stored: {parts} parts in {time.perf_counter() - started:.1f} s."
        )
