"""`manage.py rebuild_funnel_counts`: count the funnel's running day counts afresh.

Only needed after something bypassed PostgreSQL's triggers on the moves and deals (see
`forecasting.models.StageFlowDay` and `ClosedDay`), e.g. a restore with `--disable-triggers`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from forecasting.services import rebuild_running_counts
from pipeline_crm.db import is_postgresql


class Command(BaseCommand):
    help = "Recount the funnel's running day counts from the moves and deals (PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_postgresql():
            raise CommandError("The funnel's day counts are kept on PostgreSQL only.")
        flow, closed = rebuild_running_counts()
        self.stdout.write(f"Funnel day counts rebuilt: {flow} stage rows, {closed} closed rows.")
