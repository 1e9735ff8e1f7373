"""Where PostgreSQL and SQLite differ, in one place.

Production runs on PostgreSQL; development and a quick `make test` may run on SQLite. Code that
needs a PostgreSQL feature asks here, and gets the SQLite equivalent (or a plain fallback)
without forking itself.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Expression, QuerySet, prefetch_related_objects
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone


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
    sql, params = insert_from_select_sql(model, rows, conflict_target=conflict_target, **columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(int(cursor.rowcount), 0)


def insert_from_select_sql(
    model: type[models.Model],
    rows: QuerySet[Any],
    *,
    conflict_target: Sequence[str] = (),
    **columns: Any,
) -> tuple[str, list[Any]]:
    """The statement `insert_from_select` runs and its parameters (to run it again with other
    parameters without compiling it again)."""
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
    return sql, list(params)


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
) -> tuple[QuerySet[Any, Any], SQLCompiler, str, list[Any]]:
    """The query `build` makes, joined LATERAL to a VALUES list of `rows`: (query, its compiler,
    SQL, params).

    Each column of the rows has one type (int or str), taken from the first row."""
    kinds = [_sql_type(value) for value in rows[0]]
    names = [f"c{index}" for index in range(len(kinds))]
    queryset = build(
        *[_RowValue(name, field()) for name, (_, field) in zip(names, kinds, strict=True)]
    )
    # A raw statement cannot hand joined objects back: `objects_for_each` fetches them after.
    unjoined = queryset.select_related(None) if queryset.query.select_related else queryset
    compiler = unjoined.query.get_compiler(using=unjoined.db)
    sql, params = compiler.as_sql()
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
    return queryset, compiler, statement, [*(value for row in rows for value in row), *params]


def objects_for_each[M: models.Model](
    rows: Sequence[tuple[Any, ...]], build: Callable[..., QuerySet[M, M]]
) -> list[M]:
    """The model objects of `build(*row)` for every row, in no particular order.

    PostgreSQL: one statement however many rows. `build` is called once, with references to a
    VALUES list of the rows in place of values, and its query runs for each row through a
    LATERAL join: compiled and planned once, and each row's run still walks an index (say, a
    column of the board in order, stopping after a page). The relations the query names in
    `select_related` are fetched after it, one query each for every object. SQLite, without
    LATERAL: a query per row (development sizes).
    """
    if not rows:
        return []
    if not is_postgresql():
        return [item for row in rows for item in build(*row)]
    queryset, _, statement, params = _lateral(rows, build)
    found = list(queryset.model._default_manager.raw(statement, params))
    # What the query would have joined (`select_related`), one query per relation for all.
    prefetch_related_objects(found, *_joined_relations(queryset))
    return found


def _joined_relations(queryset: QuerySet[Any, Any]) -> list[str]:
    """The relations `queryset.select_related(...)` names, nested ones as "a__b"."""
    tree = queryset.query.select_related
    if tree is True:
        raise ValueError("Name the relations to join: select_related() without names.")

    def paths(branch: Mapping[str, Any], prefix: str) -> Iterator[str]:
        for name, below in branch.items():
            yield prefix + name
            yield from paths(below, f"{prefix}{name}__")

    return list(paths(tree or {}, ""))


def values_for_each(
    rows: Sequence[tuple[Any, ...]], build: Callable[..., QuerySet[Any, tuple[Any, ...]]]
) -> list[tuple[Any, ...]]:
    """`objects_for_each` for a `values_list` query: its tuples for every row, each value as
    the query would give it (JSON decoded, say)."""
    if not rows:
        return []
    if not is_postgresql():
        return [item for row in rows for item in build(*row)]
    _, compiler, statement, params = _lateral(rows, build)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [tuple(row) for row in compiler.results_iter(results=[cursor.fetchall()])]


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


# --- bulk loads (seed_demo; the CSV import) ----------------------------------------------------

ROW_BATCH = 5000  # rows per executemany where there is no COPY

BulkRows = Sequence[models.Model] | Sequence[Mapping[str, Any]]


def bulk_insert(model: type[models.Model], rows: BulkRows, *, need_ids: bool = False) -> list[int]:
    """Insert many new rows of `model` at once, with exactly the values they carry: no save(),
    no signals, and a historic created_at stays (an auto_now field left empty gets now).

    A row is an instance of `model`, or a mapping of attnames (`owner_id`) to values that leaves
    out the fields taking their default. Foreign keys are read from the id attributes: set
    `child.deal_id` once the parents have their ids. With `need_ids`, returns the new primary
    keys in row order (and sets them on instances); otherwise []. One transaction.

    PostgreSQL: COPY, after reserving the ids from the table's sequence (bulk_create spent more
    time building SQL than the database spent storing rows: 100,000 demo deals took minutes).
    SQLite: plain INSERT statements, each value through its field's own adaptation.
    """
    if not rows:
        return []
    table = _BulkTable(model, rows[0])
    with transaction.atomic():
        ids: list[int] = []
        if table.pk_given:
            _copy(table, rows, ids) if is_postgresql() else _insert(table, rows, need_ids=False)
        elif is_postgresql():
            if need_ids:
                ids = _reserve_ids(table, len(rows))
            _copy(table, rows, ids)
        else:
            ids = _insert(table, rows, need_ids=need_ids)
    if not need_ids:
        return []
    if table.pk_given:
        return [table.pk_of(row) for row in rows]
    for row, pk in zip(rows, ids, strict=True):
        if isinstance(row, models.Model):
            row.pk = pk
    return ids


class _BulkTable:
    """The columns a bulk insert writes (the id only where the rows carry it) and how a row's
    values for them are read."""

    def __init__(self, model: type[models.Model], first: models.Model | Mapping[str, Any]):
        self.model = model
        pk = model._meta.pk
        if pk is None:  # only an abstract model has none, and it has no table either
            raise TypeError(f"{model.__name__} has no table to insert into.")
        self.pk: models.Field[Any, Any] = pk
        if isinstance(first, models.Model):
            self.pk_given = first.pk is not None
        else:
            self.pk_given = self.pk.attname in first
        self.fields = [f for f in model._meta.concrete_fields if self.pk_given or f is not self.pk]
        names = [f.attname for f in self.fields]
        self.read = _values_reader(names, {f.attname: f.get_default() for f in self.fields}, first)
        self.json = [(i, f) for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]
        self.stamped = [
            (i, isinstance(f, models.DateTimeField))
            for i, f in enumerate(self.fields)
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add)
        ]

    def values(self, rows: BulkRows) -> Iterator[list[Any]]:
        """Each row's values in column order, an empty auto_now field filled with now."""
        now = timezone.now()
        stamps = [(i, now if is_datetime else now.date()) for i, is_datetime in self.stamped]
        for row in rows:
            values = self.read(row)
            for i, stamp in stamps:
                if values[i] is None:
                    values[i] = stamp
            yield values

    def pk_of(self, row: models.Model | Mapping[str, Any]) -> int:
        return int(row.pk if isinstance(row, models.Model) else row[self.pk.attname])

    def sql(self, *, pk_first: bool = False) -> str:
        """`table (column, …)`, quoted; with `pk_first`, the id column leads."""
        quote = connection.ops.quote_name
        fields = [self.pk, *self.fields] if pk_first else self.fields
        columns = ", ".join(quote(f.column or f.attname) for f in fields)
        return f"{quote(self.model._meta.db_table)} ({columns})"


def _values_reader(
    names: list[str], defaults: dict[str, Any], first: models.Model | Mapping[str, Any]
) -> Callable[[Any], list[Any]]:
    """Reads the values of `names` off an instance, or off a mapping where a missing name
    takes its default: C-level getters, as a bulk load reads millions of them."""
    if isinstance(first, models.Model):
        get_attributes = attrgetter(*names)
        return lambda obj: list(get_attributes(obj))
    get_items = itemgetter(*names)
    return lambda row: list(get_items({**defaults, **row}))


def _reserve_ids(table: _BulkTable, count: int) -> list[int]:
    """Take `count` values from the table's id sequence, so COPY can write the ids itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table.model._meta.db_table, table.pk.column, count],
        )
        return [int(value) for (value,) in cursor.fetchall()]


def _copy(table: _BulkTable, rows: BulkRows, ids: Sequence[int]) -> None:
    """COPY the rows in, each with its reserved id first (when given). psycopg adapts Python
    values by their type; JSON goes through the field's encoder."""
    statement = f"COPY {table.sql(pk_first=bool(ids))} FROM STDIN"
    # psycopg's own cursor: its errors become Django's (IntegrityError…) as the ORM's do.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for n, values in enumerate(table.values(rows)):
            for i, field in table.json:
                values[i] = json.dumps(values[i], cls=field.encoder)
            copy.write_row([ids[n], *values] if ids else values)


def _insert(table: _BulkTable, rows: BulkRows, *, need_ids: bool) -> list[int]:
    """INSERT the rows (SQLite), reading each new id back when needed."""
    placeholders = ", ".join(["%s"] * len(table.fields))
    # Only quoted identifiers are interpolated; the values are parameters.
    sql = f"INSERT INTO {table.sql()} VALUES ({placeholders})"  # noqa: S608
    adapted = (
        [f.get_db_prep_save(v, connection) for f, v in zip(table.fields, values, strict=True)]
        for values in table.values(rows)
    )
    ids: list[int] = []
    with connection.cursor() as cursor:
        if not need_ids:
            for batch in itertools.batched(adapted, ROW_BATCH):
                cursor.executemany(sql, batch)
            return ids
        for params in adapted:
            cursor.execute(sql, params)
            ids.append(int(cursor.lastrowid))
    return ids


def relaxed_durability() -> None:
    """Inside a transaction: commit without waiting for the disk flush (PostgreSQL only), for
    bulk loads that can be redone: a crash may lose the last commits, never corrupt anything."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def refresh_planner_statistics() -> None:
    """ANALYZE after a bulk load (PostgreSQL). The planner otherwise keeps the row counts of the
    empty tables until autovacuum gets round to them (never, where it is off), and picks
    nested loops over hundreds of thousands of rows."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
