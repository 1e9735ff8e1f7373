"""`manage.py backup_db FILE [--no-media] [--force]`: the database and the uploaded files in one
file (README, "Backups")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from pipeline_crm.backups.archive import BackupError
from pipeline_crm.backups.operations import back_up, media_root


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump --format=custom on PostgreSQL, the backup API on SQLite) "
        "and MEDIA_ROOT into one tar file, with every table's row count and checksum."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The backup file to write.")
        parser.add_argument(
            "--no-media", action="store_true", help="Leave the uploaded files (MEDIA_ROOT) out."
        )
        parser.add_argument("--force", action="store_true", help="Replace FILE if it exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            manifest = back_up(
                path=path,
                connection=connection,
                media_root=media_root(included=not options["no_media"]),
                overwrite=options["force"],
            )
        except (BackupError, DatabaseError) as exc:  # e.g. no such database
            raise CommandError(str(exc)) from exc
        rows = sum(summary.rows for summary in manifest.tables.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {len(manifest.tables)} tables ({rows} rows) and "
                f"{len(manifest.media)} uploaded files to {path} "
                f"({path.stat().st_size / 1e6:.1f} MB)."
            )
        )
