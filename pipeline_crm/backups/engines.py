"""How each database is dumped, checked and restored: PostgreSQL with pg_dump / pg_restore,
SQLite with its online backup API."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Protocol

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.client import DatabaseClient

from pipeline_crm.backups.archive import BackupError
from pipeline_crm.backups.tables import (
    TableSummary,
    one_snapshot,
    summaries_in_snapshot,
    table_summaries,
)
from pipeline_crm.backups.targets import database_at


class Engine(Protocol):
    member: str  # the dump's name inside the backup

    def dump(self, connection: BaseDatabaseWrapper, target: Path) -> dict[str, TableSummary]:
        """Write the dump to `target`; return the summaries of exactly what it holds."""

    def check_readable(self, dump: Path) -> None:
        """Raise BackupError unless the whole dump can be read back."""

    def restore(self, dump: Path, connection: BaseDatabaseWrapper) -> None:
        """Replace what the dump holds in the connection's database with the dump."""


class PostgreSQL:
    member = "database.pgdump"

    def dump(self, connection: BaseDatabaseWrapper, target: Path) -> dict[str, TableSummary]:
        # pg_dump reads the snapshot this transaction exported, so the checksums describe the
        # very rows it writes, however busy the database is.
        with one_snapshot(connection):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
            _run(
                connection,
                "pg_dump",
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
            )
            return summaries_in_snapshot(connection)

    def check_readable(self, dump: Path) -> None:
        # Rendering the whole dump as SQL into nowhere reads (and decompresses) every block.
        _run(None, "pg_restore", f"--file={os.devnull}", str(dump))

    def restore(self, dump: Path, connection: BaseDatabaseWrapper) -> None:
        name = connection.settings_dict["NAME"]
        if not name:
            raise BackupError("The database to restore into has no name.")
        connection.close()
        _run(
            connection,
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",  # all or nothing: a failed restore changes nothing
            "--exit-on-error",
            f"--dbname={name}",
            str(dump),
        )


def _environment(connection: BaseDatabaseWrapper | None) -> dict[str, str]:
    """The libpq variables for the connection's database: the password travels in PGPASSWORD
    (or a service / password file the settings name), never on a command line."""
    environment = dict(os.environ)
    if connection is None:
        return environment
    settings = connection.settings_dict
    _, extra = DatabaseClient.settings_to_cmd_args_env(settings, [])
    environment.update(extra or {})
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if settings.get(key):
            environment[variable] = str(settings[key])
    if settings.get("NAME"):
        environment["PGDATABASE"] = str(settings["NAME"])
    return environment


def _run(connection: BaseDatabaseWrapper | None, program: str, *arguments: str) -> None:
    command = [program, "--no-password", *arguments]
    try:
        done = subprocess.run(  # noqa: S603 (fixed programs, arguments built here)
            command, env=_environment(connection), capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise BackupError(f"{program} is not installed (PostgreSQL's client tools).") from exc
    if done.returncode:
        raise BackupError(f"{program} failed: {done.stderr.strip() or done.returncode}")


class SQLite:
    member = "database.sqlite3"

    def dump(self, connection: BaseDatabaseWrapper, target: Path) -> dict[str, TableSummary]:
        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        # The summaries come from the copy itself, read the way Django reads the original.
        with database_at(f"sqlite:///{target}", alias="backup_copy") as saved:
            return table_summaries(saved)

    def check_readable(self, dump: Path) -> None:
        try:
            database = sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True)
            try:
                result = database.execute("PRAGMA integrity_check").fetchall()
            finally:
                database.close()
        except sqlite3.Error as exc:
            raise BackupError(f"The SQLite copy cannot be read: {exc}") from exc
        if result != [("ok",)]:
            raise BackupError(f"The SQLite copy is damaged: {result[:5]}")

    def restore(self, dump: Path, connection: BaseDatabaseWrapper) -> None:
        connection.close()
        connection.ensure_connection()
        saved = sqlite3.connect(dump)
        try:
            saved.backup(connection.connection)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not restore the copy: {exc}") from exc
        finally:
            saved.close()
            connection.close()


ENGINES: dict[str, Engine] = {"postgresql": PostgreSQL(), "sqlite": SQLite()}


def engine_for(vendor: str) -> Engine:
    try:
        return ENGINES[vendor]
    except KeyError:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.") from None
