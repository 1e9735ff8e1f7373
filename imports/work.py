"""The two passes over a stored file: validate (nothing written but the row errors) and commit
(one transaction: the rows checked again against the database as it is now, then written).

Both stream the file chunk by chunk (`checking.CHUNK` rows): memory holds one chunk and the
dedupe keys and names met so far, never the whole file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from deals.events import PipelineChanged
from deals.models import StageChange
from imports import parsing
from imports.checking import Checker, RowProblem
from imports.events import RecordsImported
from imports.models import Import, ImportedRecord, RowError
from imports.progress import Progress
from imports.writing import MODELS, RECORD, Writer
from pipeline_crm.db import bulk_insert, is_postgresql, serialize_on
from pipeline_crm.errors import DomainError
from pipeline_crm.events import announce

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# After a commit this large, the touched tables' planner statistics are refreshed.
ANALYZE_AFTER = 10_000


def checker_for(batch: Import) -> Checker:
    return Checker(
        by=batch.created_by,
        kind=batch.kind,
        mapping=batch.mapping,
        on_duplicate=batch.on_duplicate,
    )


def _save_problems(batch: Import, problems: Iterable[RowProblem]) -> None:
    rows = [
        {"batch_id": batch.pk, "row": p.row, "column": p.column[:200], "message": p.message[:500]}
        for p in problems
    ]
    bulk_insert(RowError, rows)


def _line_count(batch: Import) -> int:
    with batch.file.open("rb") as binary:
        return max(parsing.count_lines(binary), 1)


def _fail(batch: Import, exc: parsing.BadFile) -> None:
    RowError.objects.filter(batch=batch).delete()
    RowError.objects.create(batch=batch, row=exc.row, column="", message=exc.message[:500])
    Import.objects.filter(pk=batch.pk).update(
        status=Import.Status.FAILED,
        failure=exc.message[:500],
        error_rows=1,
        valid_rows=0,
        progress=100,
        finished_at=timezone.now(),
    )


def validate_rows(batch: Import, *, inline: bool) -> None:
    """Check every row; the import becomes "ready" with its counts and row errors, or
    "failed" when the file cannot be read."""
    progress = Progress(batch.pk, _line_count(batch)) if not inline else None
    RowError.objects.filter(batch=batch).delete()
    total = valid = bad = 0
    try:
        with batch.file.open("rb") as binary:
            parsing.read_header(binary)
            checker = checker_for(batch)
            for chunk in checker.chunks(parsing.read_rows(binary)):
                total += len(chunk.rows) + chunk.bad_rows
                valid += len(chunk.rows)
                bad += chunk.bad_rows
                _save_problems(batch, chunk.problems)
                if progress:
                    progress.report(total)
    except parsing.BadFile as exc:
        _fail(batch, exc)
        return
    finally:
        if progress:
            progress.close()
    Import.objects.filter(pk=batch.pk).update(
        status=Import.Status.READY,
        total_rows=total,
        valid_rows=valid,
        error_rows=bad,
        progress=100,
    )


class _Refused(Exception):
    """All or nothing, and a row turned out bad while committing: roll everything back."""


def commit_rows(batch: Import, *, inline: bool) -> None:
    """Write the rows in one transaction. All or nothing: a row found bad now (the database
    changed since validation) rolls it all back, and the import is validated afresh."""
    progress = Progress(batch.pk, batch.total_rows) if not inline else None
    try:
        writer = _commit(batch, progress)
    except _Refused:
        Import.objects.filter(pk=batch.pk).update(status=Import.Status.VALIDATING)
        validate_rows(batch, inline=inline)
        if inline:
            raise DomainError(
                "Some rows are no longer valid, so nothing was imported (all or nothing).",
                field="mode",
            ) from None
        return
    except parsing.BadFile as exc:
        _fail(batch, exc)
        return
    except Exception:
        logger.exception("Import %s failed", batch.pk)
        Import.objects.filter(pk=batch.pk).update(
            status=Import.Status.FAILED,
            failure="The import failed and nothing was written. Try again.",
            finished_at=timezone.now(),
        )
        if inline:
            raise
        return
    finally:
        if progress:
            progress.close()
    if writer is not None and writer.created + writer.updated >= ANALYZE_AFTER:
        analyze(batch.kind)


@transaction.atomic
def _commit(batch: Import, progress: Progress | None) -> Writer | None:
    serialize_on("import-commit", batch.pk)
    batch = Import.objects.select_related("created_by").get(pk=batch.pk)
    if batch.status != Import.Status.IMPORTING:
        return None  # committed meanwhile by another run of the task
    by = batch.created_by
    RowError.objects.filter(batch=batch).delete()
    writer = Writer(batch, by)
    done = bad = 0
    with batch.file.open("rb") as binary:
        for chunk in checker_for(batch).chunks(parsing.read_rows(binary)):
            if chunk.bad_rows and batch.mode == Import.Mode.ALL_OR_NOTHING:
                raise _Refused
            writer.write(chunk.rows)
            _save_problems(batch, chunk.problems)
            done += len(chunk.rows) + chunk.bad_rows
            bad += chunk.bad_rows
            if progress:
                progress.report(done)
    Import.objects.filter(pk=batch.pk).update(
        status=Import.Status.DONE,
        created=writer.created,
        updated=writer.updated,
        skipped=writer.skipped,
        total_rows=done,
        valid_rows=done - bad,
        error_rows=bad,
        progress=100,
        finished_at=timezone.now(),
    )
    _announce(batch, writer.pipeline_ids, created=writer.created, updated=writer.updated)
    return writer


def _announce(
    batch: Import, pipeline_ids: Iterable[int], by: User | None = None, **counts: int
) -> None:
    """One event for the whole import, and one board reload per pipeline it touched; `by`
    (who undid it), else whoever ran it."""
    by = by or batch.created_by
    for pipeline_id in sorted(pipeline_ids):
        announce(PipelineChanged(pipeline_id=pipeline_id, by=by))
    announce(
        RecordsImported(
            import_id=batch.pk,
            kind=batch.kind,
            by=by,
            undone=batch.status == Import.Status.UNDONE,
            **counts,
        )
    )


def announce_undo(batch: Import, pipeline_ids: Iterable[int], *, by: User) -> None:
    _announce(batch, pipeline_ids, by)


def analyze(kind: str) -> None:
    """Refresh the planner's statistics of the tables a large import filled (PostgreSQL). The
    deal table is VACUUMed too when outside a transaction (a task): that marks the new pages
    all-visible, which the forecast's index-only scans over its covering indexes need."""
    if not is_postgresql():
        return
    models: list[type[Model]] = [MODELS[RECORD[kind]], ImportedRecord]
    if kind == "deals":
        models += [StageChange, MODELS["company"], MODELS["contact"]]
    with connection.cursor() as cursor:
        for model in models:
            vacuum = model is MODELS["deal"] and not connection.in_atomic_block
            command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
            # Only a fixed command and a quoted table name.
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
