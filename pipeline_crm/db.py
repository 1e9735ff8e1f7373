"""Where PostgreSQL and SQLite differ, in one place.

Production runs on PostgreSQL; development and a quick `make test` may run on SQLite. Code that
needs a PostgreSQL feature asks here, and gets the SQLite equivalent (or a plain fallback)
without forking itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models import QuerySet


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def serialize_on(*parts: object) -> None:
    """Inside a transaction: wait for any other transaction that serialized on the same key,
    then hold the key until this one ends. Makes check-then-create race-safe where no unique
    constraint can (e.g. "the company called X, created if new").

    PostgreSQL: a transaction-scoped advisory lock on a hash of the key. SQLite: nothing to do,
    its write transactions (BEGIN IMMEDIATE, see settings) already run one at a time.
    """
    if not is_postgresql():
        return
    key = ":".join(str(part) for part in parts)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def insert_from_select(
    model: type[models.Model],
    rows: QuerySet[Any],
    *,
    conflict_target: Sequence[str] = (),
    **columns: Any,
) -> int:
    """`INSERT INTO <model's table> (columns) SELECT … FROM rows`: one statement however many
    rows, computed by the database. `columns` maps each column to an expression over `rows`.
    With `conflict_target`, a row clashing with an existing one on those columns is skipped.
    Returns how many rows were inserted. (Both databases speak this SQL; the SELECT must have a
    WHERE clause for SQLite to read ON CONFLICT after it, which every caller's rows have.)"""
    names = list(columns)
    select_sql, params = (
        rows.order_by()
        .annotate(**{f"new_{name}": expression for name, expression in columns.items()})
        .values_list(*[f"new_{name}" for name in names])
        .query.sql_with_params()
    )
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(name) for name in names)}) {select_sql}"
    )
    if conflict_target:
        sql += f" ON CONFLICT ({', '.join(quote(name) for name in conflict_target)}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
