"""Where PostgreSQL and SQLite differ, in one place.

Production runs on PostgreSQL; development and a quick `make test` may run on SQLite. Code that
needs a PostgreSQL feature asks here, and gets the SQLite equivalent (or a plain fallback)
without forking itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models import Expression, QuerySet


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
        return max(int(cursor.rowcount), 0)


# --- deals: one query run for each of a list of rows (the board's columns) ------------------------

_ROW_ALIAS = "each_row"
_SQL_TYPES: dict[type, tuple[str, type[models.Field[Any, Any]]]] = {
    int: ("bigint", models.BigIntegerField),
    str: ("text", models.TextField),
}


class _RowValue(Expression):
    """Inside the query run for each row: that row's value of one column (PostgreSQL only)."""

    def __init__(self, column: str, output_field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=output_field)
        self.column = column

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[str | int, ...]]:
        return f"{_ROW_ALIAS}.{self.column}", ()


def _sql_type(value: Any) -> tuple[str, type[models.Field[Any, Any]]]:
    """The SQL and Django types of a row's value (an id, a text such as a status)."""
    for python_type, types in _SQL_TYPES.items():
        if isinstance(value, python_type):
            return types
    raise TypeError(f"No SQL type for {value!r} in a VALUES list.")


def _lateral(
    rows: Sequence[tuple[Any, ...]], build: Callable[..., QuerySet[Any, Any]]
) -> tuple[QuerySet[Any, Any], str, list[Any]]:
    """The query `build` makes, joined LATERAL to a VALUES list of `rows`: (query, SQL, params).

    Each column of the rows has one type (int or str), taken from the first row."""
    kinds = [_sql_type(value) for value in rows[0]]
    names = [f"c{index}" for index in range(len(kinds))]
    queryset = build(
        *[_RowValue(name, field()) for name, (_, field) in zip(names, kinds, strict=True)]
    )
    sql, params = queryset.query.sql_with_params()
    # Only constants are interpolated (the alias, column names and types above) and the ORM's
    # compiled SQL, whose values stay parameters.
    row_sql = "(" + ", ".join(f"%s::{sql_type}" for sql_type, _ in kinds) + ")"
    statement = " ".join(
        [
            "SELECT page.* FROM (VALUES",
            ", ".join([row_sql] * len(rows)),
            f") AS {_ROW_ALIAS} ({', '.join(names)})",
            f"CROSS JOIN LATERAL ({sql}) AS page",
        ]
    )
    return queryset, statement, [*(value for row in rows for value in row), *params]


def objects_for_each[M: models.Model](
    rows: Sequence[tuple[Any, ...]], build: Callable[..., QuerySet[M, M]]
) -> list[M]:
    """The model objects of `build(*row)` for every row, in no particular order.

    PostgreSQL: one statement however many rows. `build` is called once, with references to a
    VALUES list of the rows in place of values, and its query runs for each row through a
    LATERAL join: compiled and planned once, and each row's run still walks an index (say, a
    column of the board in order, stopping after a page). SQLite, without LATERAL: a query per
    row (development sizes).
    """
    if not rows:
        return []
    if not is_postgresql():
        return [item for row in rows for item in build(*row)]
    queryset, statement, params = _lateral(rows, build)
    return list(queryset.model._default_manager.raw(statement, params))


def values_for_each(
    rows: Sequence[tuple[Any, ...]], build: Callable[..., QuerySet[Any, tuple[Any, ...]]]
) -> list[tuple[Any, ...]]:
    """`objects_for_each` for a `values_list` query: its tuples for every row."""
    if not rows:
        return []
    if not is_postgresql():
        return [item for row in rows for item in build(*row)]
    _, statement, params = _lateral(rows, build)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


# --- deals: locks and settings for one transaction ------------------------------------------------


def lock_against_writes(model: type[models.Model]) -> None:
    """Inside a transaction: let others read `model`'s table but not write it until this one
    ends (a consistent snapshot to rebuild a summary from). SQLite: nothing to do, its write
    transactions (BEGIN IMMEDIATE) already exclude every other writer."""
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(model._meta.db_table)
        cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")


def tune_for_bulk_writes() -> None:
    """Inside a transaction that writes many rows in a few statements (the stall sweep):

    - no JIT: PostgreSQL would spend longer compiling these statements than running them;
    - no nested loops: right after a bulk UPDATE the planner still expects the few rows it saw
      before and would join each of tens of thousands of rows in a loop; hash joins make the
      INSERT … SELECT that follows about 40 % faster;
    - no wait for the WAL flush at commit: should the server crash in the split second before
      the rows reach the disk, the transaction is lost whole (never half) and is simply redone.
      Only for work that can be redone: nothing that sends e-mail.

    SQLite: nothing to tune.
    """
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL enable_nestloop = off")


def keeps_running_totals() -> bool:
    """Whether triggers on the deal table keep the board's running column totals
    (`deals.models.ColumnTotal`): migration deals 0010 installs them on PostgreSQL only; on
    SQLite the board counts the deals."""
    return is_postgresql()
