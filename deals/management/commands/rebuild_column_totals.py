"""`manage.py rebuild_column_totals`: sum the board's running column totals afresh.

Only needed after something bypassed PostgreSQL's triggers on the deal table (see
`deals.models.ColumnTotal`), e.g. a restore with `--disable-triggers`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from deals.services import rebuild_column_totals
from pipeline_crm.db import keeps_running_totals


class Command(BaseCommand):
    help = "Recompute the board's running column totals from the deals (PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not keeps_running_totals():
            raise CommandError("Column totals are kept on PostgreSQL only; SQLite counts deals.")
        rows = rebuild_column_totals()
        self.stdout.write(f"Column totals rebuilt: {rows} (stage, status, owner, currency) rows.")
