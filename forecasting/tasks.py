"""Scheduled jobs of the forecasting app (beat schedule in settings)."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_date

from forecasting.analytics.backtest import recent_starts
from forecasting.services import compact_running_counts, store_backtests, take_snapshot

log = logging.getLogger(__name__)


@shared_task(name="forecasting.tasks.take_forecast_snapshot", ignore_result=True)
def take_forecast_snapshot(day: str | None = None) -> int:
    """Record today's forecast: one snapshot per open deal. Running it twice a day is harmless."""
    taken_on: dt.date = (parse_date(day) if day else None) or timezone.localdate()
    added = take_snapshot(day=taken_on)
    log.info("forecast snapshot %s: %d deals", taken_on, added)
    return added


@shared_task(name="forecasting.tasks.compact_forecast_running_counts", ignore_result=True)
def compact_forecast_running_counts() -> None:
    """Keep the running counts of the history panels short (`compact_running_counts`)."""
    compact_running_counts()


@shared_task(name="forecasting.tasks.store_forecast_backtests", ignore_result=True)
def store_forecast_backtests(day: str | None = None) -> int:
    """Store the accuracy panel's backtest of the last 12 months and 4 quarters (as of `day`,
    default today), their Brier scores counting the deals closed by then. Running it twice is
    harmless: each run replaces what the last stored for the same periods."""
    today: dt.date = (parse_date(day) if day else None) or timezone.localdate()
    stored = sum(
        store_backtests(kind=kind, starts=recent_starts(kind, today), today=today)
        for kind in ("month", "quarter")
    )
    log.info("forecast backtests as of %s: %d parts", today, stored)
    return stored
