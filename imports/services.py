"""CSV import (SPEC §9): the stable interface pages, the API and tasks call.

    start_import(*, by, kind, upload, mapping=None, on_duplicate="skip") -> Import
        Store the upload (a Django UploadedFile/File) and validate every row: inline for files
        of up to INLINE_ROWS lines (the Import comes back "ready" or "failed"), else in Celery
        (it comes back "validating"; poll it). Refuses: a kind the caller may not import (403
        NotAllowed), a file over 50 MB / 500,000 rows (413 FileTooLarge), a mapping naming an
        unknown column or field or leaving a required field unmapped (400 DomainError). A file
        that cannot be read (not UTF-8, no header) gives an Import with status "failed", its
        `failure` and one row error. Remembers the mapping for (by, kind).
    commit_import(*, by, batch, mode) -> Import
        mode "valid_rows" | "all_or_nothing" (any bad row: 400, nothing written). Inline for
        small files ("done" at once), else queued ("importing"; progress 0–100 moves).
    undo_import(*, by, batch) -> Import
        Deletes what the import created, restores what it updated; 409 ChangedSince naming
        the records changed since (`.records`: [{"type", "id", "name"}]).
    preview(*, upload=None, batch=None, rows=5) -> Preview(headers, rows)
        The header and first rows of an upload (nothing stored) or of a stored import.
    suggested_mapping(*, by, kind, headers) -> dict[header, field]
        The caller's remembered mapping for that kind where its headers are present, completed
        by headers naming a field themselves.
    importable_kinds(by) -> list[str];  fields(kind) -> list[columns.Field]
    error_rows(batch) -> iterator of (row, column, message), every row error, in row order.
    error_report(batch) -> (header, lines): errors.csv — row, column, message, then the row's
        cells as the file had them.
    first_errors(batch, limit=100) -> list of {"row", "column", "message"}.

`batch` is an `Import` the caller fetched through `Import.objects.visible_to(by)` (its own;
admins: all). Model fields: kind, status, created_by, file, file_name, mapping, headers,
on_duplicate, mode, total_rows, valid_rows, error_rows, progress, created, updated, skipped,
failure, created_at, finished_at. Statuses: validating → ready | failed; ready → importing →
done | failed; done → undone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from imports import columns, parsing
from imports.models import Import, RowError, SavedMapping
from imports.undo import ChangedSince, undo_records
from imports.work import announce_undo, commit_rows, validate_rows
from pipeline_crm.errors import DomainError, InvalidTransition, NotAllowed

__all__ = [
    "INLINE_ROWS",
    "ChangedSince",
    "Preview",
    "commit_import",
    "error_report",
    "error_rows",
    "fields",
    "first_errors",
    "importable_kinds",
    "preview",
    "run_commit",
    "run_validation",
    "start_import",
    "suggested_mapping",
    "undo_import",
]

logger = logging.getLogger(__name__)

# Files of up to this many lines are validated and committed within the request.
INLINE_ROWS = 2000
REP_KINDS = ("contacts", "leads")


def importable_kinds(by: User) -> list[str]:
    """Admins and managers import anything; reps leads and contacts they will own (SPEC §9)."""
    if by.is_admin or by.is_manager:
        return list(columns.KINDS)
    return [kind for kind in columns.KINDS if kind in REP_KINDS]


def fields(kind: str) -> list[columns.Field]:
    return list(columns.fields_of(kind).values())


def _require_kind(by: User, kind: str) -> None:
    columns.fields_of(kind)  # 400 for an unknown kind
    if kind not in importable_kinds(by):
        raise NotAllowed(f"You may not import {kind}: reps import leads and contacts.")


@dataclass(frozen=True)
class Preview:
    headers: list[str]
    rows: list[list[str]]


def _binary(upload: File[Any]) -> IO[bytes]:
    upload.open("rb")
    upload.seek(0)
    return upload


def preview(
    *, upload: File[Any] | None = None, batch: Import | None = None, rows: int = 5
) -> Preview:
    source = upload if upload is not None else (batch.file if batch is not None else None)
    if source is None:
        raise DomainError("Give a file to preview.", field="file")
    headers, first = parsing.preview_rows(_binary(source), rows)
    return Preview(headers, first)


def suggested_mapping(*, by: User, kind: str, headers: list[str]) -> dict[str, str]:
    known = columns.fields_of(kind)
    saved = SavedMapping.objects.filter(user=by, kind=kind).values_list("mapping", flat=True)
    remembered = {
        header: field
        for header, field in (saved.first() or {}).items()
        if header in headers and field in known
    }
    try:
        return columns.header_mapping(kind, headers, remembered)
    except DomainError:  # incomplete: still offer what maps
        words = {w: f.name for f in known.values() for w in (f.name, columns.normalise(f.label))}
        auto = {h: words[columns.normalise(h)] for h in headers if columns.normalise(h) in words}
        return {**auto, **remembered}


def start_import(
    *,
    by: User,
    kind: str,
    upload: File[Any],
    mapping: Mapping[str, str] | None = None,
    on_duplicate: str = Import.OnDuplicate.SKIP,
) -> Import:
    _require_kind(by, kind)
    if on_duplicate not in Import.OnDuplicate.values:
        raise DomainError("on_duplicate is “skip” or “update”.", field="on_duplicate")
    binary = _binary(upload)
    lines = parsing.check_limits(binary, upload.size or 0)
    try:
        headers = parsing.read_header(binary)
    except parsing.BadFile:
        headers = []  # recorded as the import's failure by the validation below
    applied = columns.header_mapping(kind, headers, mapping) if headers else {}
    batch = _create(by, kind, upload, applied, headers, on_duplicate)
    if lines <= INLINE_ROWS:
        return run_validation(import_id=batch.pk, inline=True)
    from imports.tasks import validate_import_task

    validate_import_task.delay_on_commit(batch.pk)
    batch.refresh_from_db()  # an eager task (or a quick worker) may have run already
    return batch


@transaction.atomic
def _create(
    by: User,
    kind: str,
    upload: File[Any],
    mapping: dict[str, str],
    headers: list[str],
    on_duplicate: str,
) -> Import:
    name = (upload.name or "import.csv").rsplit("/", 1)[-1][:255]
    upload.seek(0)
    batch = Import(
        kind=kind,
        created_by=by,
        mapping=mapping,
        headers=headers,
        on_duplicate=on_duplicate,
        file_name=name,
    )
    batch.file.save(name, upload, save=False)
    batch.save()
    if mapping:
        SavedMapping.objects.update_or_create(user=by, kind=kind, defaults={"mapping": mapping})
    return batch


def run_validation(*, import_id: int, inline: bool = False) -> Import:
    """Check every row of a "validating" import (the Celery task's body; anything else is
    left alone, so running it twice changes nothing)."""
    batch = Import.objects.select_related("created_by").get(pk=import_id)
    if batch.status != Import.Status.VALIDATING:
        return batch
    validate_rows(batch, inline=inline)
    batch.refresh_from_db()
    return batch


def commit_import(*, by: User, batch: Import, mode: str) -> Import:
    if mode not in Import.Mode.values:
        raise DomainError("mode is “valid_rows” or “all_or_nothing”.", field="mode")
    _require_kind(by, batch.kind)
    if batch.status != Import.Status.READY:
        raise InvalidTransition(
            f"This import cannot be committed: it is {batch.get_status_display().lower()}."
        )
    if mode == Import.Mode.ALL_OR_NOTHING and batch.error_rows:
        rows = "1 row has" if batch.error_rows == 1 else f"{batch.error_rows:,} rows have"
        raise DomainError(
            f"{rows} errors, so nothing was imported (all or nothing). Correct them or "
            "import the valid rows only.",
            field="mode",
        )
    started = Import.objects.filter(pk=batch.pk, status=Import.Status.READY).update(
        status=Import.Status.IMPORTING, mode=mode, progress=0
    )
    if not started:
        raise InvalidTransition("This import is already being imported.")
    if batch.total_rows <= INLINE_ROWS:
        return run_commit(import_id=batch.pk, inline=True)
    from imports.tasks import commit_import_task

    commit_import_task.delay_on_commit(batch.pk)
    batch.refresh_from_db()
    return batch


def run_commit(*, import_id: int, inline: bool = False) -> Import:
    """Write an "importing" import's rows in one transaction (the Celery task's body; an import
    in any other status is left alone)."""
    batch = Import.objects.select_related("created_by").get(pk=import_id)
    if batch.status != Import.Status.IMPORTING:
        return batch
    commit_rows(batch, inline=inline)
    batch.refresh_from_db()
    return batch


@transaction.atomic
def undo_import(*, by: User, batch: Import) -> Import:
    batch = Import.objects.select_for_update().get(pk=batch.pk)
    if batch.status != Import.Status.DONE:
        raise InvalidTransition("Only a finished import can be undone.")
    if batch.created_by_id != by.pk and not by.is_admin:
        raise NotAllowed("Only whoever ran this import (or an admin) may undo it.")
    pipeline_ids = undo_records(batch, by)
    batch.status = Import.Status.UNDONE
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "finished_at"])
    announce_undo(batch, pipeline_ids, by=by)
    return batch


def first_errors(batch: Import, limit: int = 100) -> list[dict[str, Any]]:
    errors = batch.row_errors.order_by("row", "id").values("row", "column", "message")
    return [dict(error) for error in errors[:limit]]


def error_rows(batch: Import) -> Iterator[tuple[int, str, str]]:
    errors = RowError.objects.filter(batch=batch).order_by("row", "id")
    yield from errors.values_list("row", "column", "message").iterator(chunk_size=2000)


def error_report(batch: Import) -> tuple[list[str], Iterator[list[Any]]]:
    """errors.csv: a line per row error — row, column, message — followed by that row's cells
    as the file had them, so the bad rows can be corrected and imported again. Streamed: the
    errors and the file are walked side by side in row order."""
    headers = [str(h) for h in batch.headers]
    return ["row", "column", "message", *headers], _report_lines(batch, headers)


def _report_lines(batch: Import, headers: list[str]) -> Iterator[list[Any]]:
    with contextlib.ExitStack() as stack:
        rows: Iterator[parsing.Row] = iter(())
        if headers:
            try:
                rows = parsing.read_rows(stack.enter_context(batch.file.open("rb")))
            except OSError:  # the stored file is gone: the errors alone
                logger.warning("Import %s: its file is missing", batch.pk)
        row: parsing.Row | None = None
        for number, column, message in error_rows(batch):
            try:
                while row is None or row.number < number:
                    row = next(rows)
            except (StopIteration, parsing.BadFile):
                rows, row = iter(()), None
            cells = row.cells if row is not None and row.number == number else {}
            yield [number, column, message, *(cells.get(h, "") for h in headers)]
