"""`manage.py verify_db [--against FILE] [--database-url URL]`: every table's rows and checksum,
to compare two databases (README, "Backups")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from pipeline_crm.backups.archive import BackupArchive, BackupError
from pipeline_crm.backups.tables import differences, table_summaries
from pipeline_crm.backups.targets import database_at


class Command(BaseCommand):
    help = (
        "Print every table's row count and checksum (MD5 of each row, summed: order does not "
        "matter); with --against, compare them with a backup_db file's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--against", type=Path, help="A backup_db file to compare with.")
        parser.add_argument("--database-url", help="Read this database instead of DATABASE_URL's.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            expected = None
            if options["against"]:
                with BackupArchive(options["against"]) as archive:
                    expected = archive.manifest.tables
            with database_at(options["database_url"]) as target:
                found = table_summaries(target)
        except (BackupError, DatabaseError) as exc:  # e.g. no such database
            raise CommandError(str(exc)) from exc
        width = max((len(name) for name in found), default=5)
        for name, summary in found.items():
            self.stdout.write(f"{name:<{width}}  {summary.rows:>10}  {summary.checksum}")
        rows = sum(summary.rows for summary in found.values())
        self.stdout.write(f"{len(found)} tables, {rows} rows")
        if expected is None:
            return
        lines = differences(expected, found)
        for line in lines:
            self.stderr.write(line)
        if lines:
            raise CommandError(f"{len(lines)} tables differ from {options['against']}.")
        self.stdout.write(self.style.SUCCESS(f"Every table matches {options['against']}."))
