"""Back up, check and restore: what the management commands call."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from pipeline_crm.backups.archive import (
    BackupArchive,
    BackupError,
    Manifest,
    media_files,
    write_archive,
)
from pipeline_crm.backups.engines import engine_for
from pipeline_crm.backups.tables import differences, table_summaries, tables_holding_data


def media_root(*, included: bool) -> Path | None:
    """MEDIA_ROOT, or None when the caller said --no-media."""
    return Path(settings.MEDIA_ROOT) if included else None


def back_up(
    *, path: Path, connection: BaseDatabaseWrapper, media_root: Path | None, overwrite: bool
) -> Manifest:
    """Write the database and the files under `media_root` (None: no files) to `path`."""
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists already (--force replaces it).")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory.")
    engine = engine_for(connection.vendor)
    # The dump waits beside the backup (same file system) until it is copied into the tar.
    with tempfile.TemporaryDirectory(prefix=".crm-backup-", dir=path.parent) as scratch:
        dump = Path(scratch) / engine.member
        tables = engine.dump(connection, dump)
        manifest = Manifest(
            engine=connection.vendor,
            database=engine.member,
            created_at=timezone.now().isoformat(timespec="seconds"),
            tables=tables,
        )
        files = {engine.member: dump}
        if media_root is not None:
            files.update((name, file) for file, name in media_files(media_root))
        return write_archive(path, manifest, files)


def check_backup(path: Path) -> Manifest:
    """Read every member of the backup (checksums, and the dump through its own tools) without
    touching any database."""
    with BackupArchive(path) as archive, tempfile.TemporaryDirectory() as scratch:
        _check(archive, Path(scratch))
        return archive.manifest


def _check(archive: BackupArchive, scratch: Path) -> Path:
    dump = archive.extract_database(scratch)
    engine_for(archive.manifest.engine).check_readable(dump)
    archive.check_media()
    return dump


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    media_files: int
    differences: list[str]  # tables whose rows or checksum differ from the backup's (none: exact)


def restore(
    *, path: Path, connection: BaseDatabaseWrapper, media_root: Path | None, force: bool
) -> Restored:
    """Check the whole backup first; refuse a database holding data unless `force`; then
    restore the database (and the files into `media_root` unless None) and compare every
    table with the backup's summaries."""
    with BackupArchive(path) as archive, tempfile.TemporaryDirectory() as scratch:
        manifest = archive.manifest
        if manifest.engine != connection.vendor:
            raise BackupError(
                f"This is a {manifest.engine} backup; the database is {connection.vendor}."
            )
        dump = _check(archive, Path(scratch))
        holding = tables_holding_data(connection)
        if holding and not force:
            shown = ", ".join(holding[:5]) + (" …" if len(holding) > 5 else "")
            raise BackupError(
                f"The database holds data ({shown}): restore into an empty database, "
                "or pass --force to replace it."
            )
        engine_for(connection.vendor).restore(dump, connection)
        restored_files = archive.restore_media(media_root) if media_root is not None else 0
    found = table_summaries(connection)
    return Restored(manifest, restored_files, differences(manifest.tables, found))
