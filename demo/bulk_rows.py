"""Fast inserts of plain rows (dicts keyed by field attname) for the demo data.

On PostgreSQL rows stream through COPY (bulk_create spent more time building model instances
and SQL than the database spent storing them: 100,000 deals took minutes); elsewhere (SQLite in
development) they go through bulk_create in batches. Both keep the historic created_at /
updated_at values the rows carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

ROW_BATCH = 5000  # rows per INSERT statement on the bulk_create path

Row = dict[str, Any]


@contextmanager
def timestamps_as_given(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep historic created_at / updated_at values instead of "now".

    auto_now(_add) fields overwrite whatever the row carries; demo history must lie in the past.
    Only the seed_demo command does this, in its own process.
    """
    saved = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def insert_rows(model: type[models.Model], rows: Sequence[Row], *, need_ids: bool = False) -> None:
    """Insert `rows`; with `need_ids`, each row gets its new primary key under "id"."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        if need_ids:
            for row, pk in zip(rows, _reserve_ids(model, len(rows)), strict=True):
                row["id"] = pk
        _copy(model, rows)
        return
    with timestamps_as_given(model):
        objects = [model(**row) for row in rows]
        model._default_manager.bulk_create(objects, batch_size=ROW_BATCH)
    if need_ids:
        for row, obj in zip(rows, objects, strict=True):
            row["id"] = obj.pk


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Take `count` values from the table's id sequence, so COPY can write the ids itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _copy(model: type[models.Model], rows: Sequence[Row]) -> None:
    """COPY rows into the model's table; fields a row leaves out get the model's default."""
    pk_given = "id" in rows[0]
    fields = [f for f in model._meta.concrete_fields if pk_given or not f.primary_key]
    names_and_defaults = [(f.attname, f.get_default()) for f in fields]
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    statement = "COPY {} ({}) FROM STDIN".format(
        quote(model._meta.db_table), ", ".join(quote(f.column or f.name) for f in fields)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = [row.get(name, default) for name, default in names_and_defaults]
            for i in json_positions:
                values[i] = json.dumps(values[i], cls=DjangoJSONEncoder)
            copy.write_row(values)


def relaxed_durability() -> None:
    """Inside a transaction: commit without waiting for the disk flush (PostgreSQL only).

    Safe for demo data: a crash can lose the last batches, never corrupt anything.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
