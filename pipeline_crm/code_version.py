"""A digest of the code this process runs: the project's Python modules and templates.

What is drawn from code and kept outside the process (board cards kept in a shared cache:
`deals.templatetags.card_cache`) is keyed on it, so a deploy that changes any of it draws
afresh instead of serving what the old code drew.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.template import engines


def _sources() -> list[Path]:
    """The templates and the Python files of the project's own apps (not their migrations:
    they draw nothing), in a stable order."""
    base = Path(settings.BASE_DIR).resolve()
    apps_roots = {Path(config.path).resolve() for config in apps.get_app_configs()}
    # (a virtualenv may sit inside the project: its packages are not the project's)
    own = [p for p in apps_roots if p.is_relative_to(base) and "site-packages" not in p.parts]
    own += [Path(directory).resolve() for engine in engines.all() for directory in engine.dirs]
    files = {
        path
        for root in own
        for pattern in ("*.py", "*.html")
        for path in root.rglob(pattern)
        if "migrations" not in path.parts
    }
    return sorted(files)


@cache
def code_digest() -> str:
    """16 hex digits that change whenever any of `_sources` does (read once per process)."""
    digest = hashlib.blake2b(digest_size=8)
    base = Path(settings.BASE_DIR).resolve()
    for path in _sources():
        digest.update(str(path.relative_to(base)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
