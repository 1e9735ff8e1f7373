"""Per-table row counts and checksums of a database, and what `migrate` alone puts in one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# Tables a freshly migrated database already fills (content types, permissions, the roles'
# groups, the default pipeline and its stages): rows there do not make a database "in use".
FILLED_BY_MIGRATE = frozenset(
    {
        "django_migrations",
        "django_content_type",
        "auth_permission",
        "auth_group",
        "auth_group_permissions",
        "deals_pipeline",
        "deals_stage",
    }
)
_BATCH = 2000
_MODULUS = 1 << 128


class TableSummary(NamedTuple):
    rows: int
    checksum: str


@contextmanager
def one_snapshot(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """A read-only transaction that sees the whole database as of one moment (PostgreSQL:
    REPEATABLE READ; SQLite: any transaction), so no table is read before and another after a
    change."""
    if connection.in_atomic_block:
        raise RuntimeError("Reading a consistent snapshot needs a connection outside transactions.")
    with transaction.atomic(using=connection.alias):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def table_names(connection: BaseDatabaseWrapper) -> list[str]:
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def summarise_table(connection: BaseDatabaseWrapper, table: str) -> TableSummary:
    """Rows and a checksum of the table's content: the MD5 of each row (its values as the
    database driver reads them), summed modulo 2**128, so row order (and collation) does not
    matter but any changed, added or removed row does. Streams the rows, any table size."""
    rows = 0
    total = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (a table name the database listed)
        while batch := cursor.fetchmany(_BATCH):
            rows += len(batch)
            for row in batch:
                digest = hashlib.md5(repr(tuple(row)).encode(), usedforsecurity=False).digest()
                total += int.from_bytes(digest)
    return TableSummary(rows, f"{total % _MODULUS:032x}")


def table_summaries(connection: BaseDatabaseWrapper) -> dict[str, TableSummary]:
    """Every table's summary, all read in one snapshot."""
    with one_snapshot(connection):
        return summaries_in_snapshot(connection)


def summaries_in_snapshot(connection: BaseDatabaseWrapper) -> dict[str, TableSummary]:
    """Every table's summary, inside a `one_snapshot` block the caller holds."""
    return {table: summarise_table(connection, table) for table in table_names(connection)}


def differences(
    expected: Mapping[str, TableSummary], found: Mapping[str, TableSummary]
) -> list[str]:
    """One line per table whose rows or checksum differ, or that is on one side only."""
    lines = []
    for table in sorted(expected.keys() | found.keys()):
        want, got = expected.get(table), found.get(table)
        if want == got:
            continue
        lines.append(f"{table}: expected {_describe(want)}, found {_describe(got)}")
    return lines


def _describe(summary: TableSummary | None) -> str:
    return "no table" if summary is None else f"{summary.rows} rows, checksum {summary.checksum}"


def tables_holding_data(connection: BaseDatabaseWrapper) -> list[str]:
    """The tables with at least one row, leaving out those `migrate` fills by itself."""
    quote = connection.ops.quote_name
    holding = []
    with connection.cursor() as cursor:
        for table in table_names(connection):
            if table in FILLED_BY_MIGRATE:
                continue
            cursor.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1")  # noqa: S608 (a listed table)
            if cursor.fetchone():
                holding.append(table)
    return holding
