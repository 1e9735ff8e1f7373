"""The backup file: a tar of the database dump, the uploaded files under `media/`, and
`manifest.json`, written last, naming the engine, every table's rows and checksum and every
member's SHA-256 (checked before a restore touches anything)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from pipeline_crm.backups.tables import TableSummary

MANIFEST = "manifest.json"
MEDIA = "media/"
FORMAT = 1
_CHUNK = 1 << 20


class BackupError(Exception):
    """The backup cannot be written, read or restored; the message says why."""


@dataclass(frozen=True)
class Manifest:
    engine: str  # connection.vendor: "postgresql" or "sqlite"
    database: str  # the member holding the dump
    created_at: str
    tables: dict[str, TableSummary]
    members: dict[str, str] = field(default_factory=dict)  # name -> SHA-256

    @property
    def media(self) -> list[str]:
        return sorted(name for name in self.members if name.startswith(MEDIA))

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "engine": self.engine,
                "database": self.database,
                "created_at": self.created_at,
                "tables": {name: list(summary) for name, summary in self.tables.items()},
                "members": self.members,
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise BackupError(f"Unknown backup format {data.get('format')!r}.")
        return cls(
            engine=str(data["engine"]),
            database=str(data["database"]),
            created_at=str(data["created_at"]),
            tables={name: TableSummary(*pair) for name, pair in data["tables"].items()},
            members={str(name): str(digest) for name, digest in data["members"].items()},
        )


class _Hashing(io.RawIOBase):
    """Reads through a file, hashing what passes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data


def media_files(media_root: Path | None) -> Iterator[tuple[Path, str]]:
    """(file, member name) for every regular file under MEDIA_ROOT."""
    if media_root is None or not media_root.is_dir():
        return
    for path in sorted(media_root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, MEDIA + path.relative_to(media_root).as_posix()


def write_archive(path: Path, manifest: Manifest, files: Mapping[str, Path]) -> Manifest:
    """Write `files` (member name -> file) and the manifest, completed with their SHA-256, to a
    temporary name beside `path`, then rename it: a half-written backup never has the name."""
    partial = path.with_name(path.name + ".partial")
    members: dict[str, str] = {}
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, source in files.items():
                info = tar.gettarinfo(str(source), arcname=name)
                with source.open("rb") as raw:
                    reader = _Hashing(raw)
                    tar.addfile(info, reader)
                members[name] = reader.sha.hexdigest()
            complete = replace(manifest, members=members)
            data = complete.as_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return complete


class BackupArchive:
    """A backup file opened for reading; every read checks the member's SHA-256."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close())
        except (OSError, tarfile.TarError) as exc:
            raise BackupError(f"{path} is not a readable backup: {exc}") from exc
        try:
            raw = self._member(MANIFEST)
            self.manifest = Manifest.from_json(json.load(raw))
        except (KeyError, ValueError, TypeError, tarfile.TarError, OSError) as exc:
            self.close()
            raise BackupError(f"{path} has no readable manifest (not a complete backup).") from exc

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> BackupArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _member(self, name: str) -> IO[bytes]:
        member = self._tar.getmember(name)
        stream = self._tar.extractfile(member) if member.isfile() else None
        if stream is None:
            raise BackupError(f"The backup's {name} is not a file.")
        return stream

    def copy_member(self, name: str, target: IO[bytes] | None) -> None:
        """Stream a member into `target` (or nowhere: only check it), comparing its SHA-256."""
        try:
            reader = _Hashing(self._member(name))
            while chunk := reader.read(_CHUNK):
                if target is not None:
                    target.write(chunk)
        except (KeyError, tarfile.TarError, OSError) as exc:
            raise BackupError(f"The backup's {name} cannot be read: {exc}") from exc
        if reader.sha.hexdigest() != self.manifest.members.get(name):
            raise BackupError(f"The backup's {name} is damaged (its SHA-256 differs).")

    def extract_database(self, directory: Path) -> Path:
        target = directory / Path(self.manifest.database).name
        with target.open("wb") as out:
            self.copy_member(self.manifest.database, out)
        return target

    def check_media(self) -> None:
        for name in self.manifest.media:
            self.copy_member(name, None)

    def restore_media(self, media_root: Path) -> int:
        """Write the uploaded files back under MEDIA_ROOT (same names overwritten, others kept)."""
        root = media_root.resolve()
        for name in self.manifest.media:
            target = (root / name.removeprefix(MEDIA)).resolve()
            if not target.is_relative_to(root):
                raise BackupError(f"The backup's {name} points outside MEDIA_ROOT.")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                self.copy_member(name, out)
        return len(self.manifest.media)
