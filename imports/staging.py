"""The import page's uploads between choosing a file and choosing its column mapping.

`services.start_import` needs the mapping, but the page shows the file's columns first; so the
page keeps the uploaded file in the default storage under `imports/staged/`, and the browser
carries a signed token naming it (with the kind, the on_duplicate choice, the file's own name
and who uploaded it) from one step to the next. The file goes when its import is committed;
files left behind by abandoned uploads are swept after a day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import User
from imports import parsing, services
from pipeline_crm.errors import DomainError

FOLDER = "imports/staged"
MAX_AGE = dt.timedelta(days=1)
SALT = "imports.staged"
PREVIEW_ROWS = 5  # the rows the mapping step shows
EXPIRED = "This upload has expired or is not yours: choose the file again."


@dataclass(frozen=True)
class Staged:
    path: str
    kind: str
    on_duplicate: str
    name: str
    by: int

    @property
    def token(self) -> str:
        return signing.dumps(asdict(self), salt=SALT, compress=True)


def stage(*, by: User, upload: File[Any], kind: str, on_duplicate: str) -> Staged:
    """Keep the upload for the next steps, refusing (DomainError, the engine's words) a file
    over the limits, or whose header or first rows (those the mapping step shows) cannot be
    read."""
    upload.open("rb")
    binary: Any = upload
    parsing.check_limits(binary, upload.size or 0)
    services.preview(upload=upload, rows=PREVIEW_ROWS)
    _sweep()
    name = (upload.name or "import.csv").rsplit("/", 1)[-1][:200]
    path = default_storage.save(f"{FOLDER}/{by.pk}-{uuid.uuid4().hex}.csv", upload)
    return Staged(path=path, kind=kind, on_duplicate=on_duplicate, name=name, by=by.pk)


def load(token: str, *, by: User) -> Staged:
    try:
        given = signing.loads(token, salt=SALT, max_age=MAX_AGE)
        staged = Staged(**given)
    except (signing.BadSignature, TypeError):
        raise DomainError(EXPIRED, field="file") from None
    if staged.by != by.pk or not default_storage.exists(staged.path):
        raise DomainError(EXPIRED, field="file")
    return staged


@contextlib.contextmanager
def opened(staged: Staged) -> Iterator[File[Any]]:
    """The staged file under the name it was uploaded with."""
    with default_storage.open(staged.path, "rb") as inner:
        yield File(inner, name=staged.name)


def discard(staged: Staged) -> None:
    default_storage.delete(staged.path)


def _sweep() -> None:
    """Delete staged files older than MAX_AGE (uploads whose mapping was never chosen)."""
    try:
        _, files = default_storage.listdir(FOLDER)
    except FileNotFoundError:
        return
    cutoff = timezone.now() - MAX_AGE
    for name in files:
        path = f"{FOLDER}/{name}"
        with contextlib.suppress(FileNotFoundError):
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
