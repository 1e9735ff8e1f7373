"""`manage.py restore_db FILE [--force] [--no-media] [--database-url URL] [--check]`
(README, "Backups")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from pipeline_crm.backups.archive import BackupError
from pipeline_crm.backups.operations import check_backup, media_root, restore
from pipeline_crm.backups.targets import database_at


class Command(BaseCommand):
    help = (
        "Restore a backup_db file: checks the whole file first, refuses a database that holds "
        "data unless --force, then compares every table's rows and checksum with the backup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A file written by backup_db.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Restore even though the database holds data (what the backup holds replaces it).",
        )
        parser.add_argument(
            "--no-media", action="store_true", help="Leave MEDIA_ROOT alone (database only)."
        )
        parser.add_argument(
            "--database-url",
            help="Restore into this database instead of DATABASE_URL's (e.g. a restore drill).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only check that the whole backup can be read; touch no database.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            if options["check"]:
                manifest = check_backup(path)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{path} is readable: a {manifest.engine} backup of {manifest.created_at}, "
                        f"{len(manifest.tables)} tables, {len(manifest.media)} uploaded files."
                    )
                )
                return
            with database_at(options["database_url"]) as target:
                restored = restore(
                    path=path,
                    connection=target,
                    media_root=media_root(included=not options["no_media"]),
                    force=options["force"],
                )
        except (BackupError, DatabaseError) as exc:  # e.g. no such database
            raise CommandError(str(exc)) from exc
        for line in restored.differences:
            self.stderr.write(line)
        if restored.differences:
            raise CommandError(
                f"Restored, but {len(restored.differences)} tables differ from the backup."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {restored.manifest.created_at}: all "
                f"{len(restored.manifest.tables)} tables match it (rows and checksums), "
                f"{restored.media_files} uploaded files written. Run `manage.py migrate` next "
                "if this code is newer than the backup."
            )
        )
