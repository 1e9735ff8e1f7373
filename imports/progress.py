"""An import's progress (0–100), written where other requests see it while the work runs.

Validation and commit run inside long transactions (the commit's one transaction holds every
row it writes), whose own updates nobody else sees until they end. So progress goes through a
second connection in autocommit: a page polling `GET /api/imports/{id}/` sees it move. The
import row itself is never locked by the work until its last statement, so these updates never
wait. On SQLite (development sizes) progress is written when the work ends.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, connections

from imports.models import Import
from pipeline_crm.db import is_postgresql

logger = logging.getLogger(__name__)


class Progress:
    def __init__(self, import_id: int, total: int, *, start: int = 0, end: int = 100) -> None:
        self.import_id, self.total = import_id, max(total, 1)
        self.start, self.end = start, end
        self.last = -1
        self.side: Any = None

    def report(self, done: int) -> None:
        percent = self.start + (self.end - self.start) * min(done, self.total) // self.total
        percent = min(percent, 99)  # 100 is for the finished import
        if percent <= self.last or not is_postgresql():
            return
        self.last = percent
        try:
            if self.side is None:
                self.side = connections.create_connection("default")
                with self.side.cursor() as cursor:
                    # Never wait on a lock this process's own transaction holds.
                    cursor.execute("SET lock_timeout = '1s'")
            table = self.side.ops.quote_name(Import._meta.db_table)
            with self.side.cursor() as cursor:
                # Only the quoted table name is interpolated; the values are parameters.
                cursor.execute(
                    f"UPDATE {table} SET progress = %s WHERE id = %s",  # noqa: S608
                    [percent, self.import_id],
                )
        except DatabaseError:
            logger.warning("Import %s: progress not written", self.import_id, exc_info=True)
            self.last = 100  # stop trying for this run

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
