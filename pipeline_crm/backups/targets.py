"""A database named by a URL (`--database-url`), as a Django connection for the time it is used."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import environ
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

ALIAS = "backup_target"


@contextmanager
def database_at(url: str | None, *, alias: str = ALIAS) -> Iterator[BaseDatabaseWrapper]:
    """The default database without a URL; else a connection to the URL's database, reachable
    as `connections[alias]` (so `Model.objects.using(alias)` works too) until the block ends.
    The alias stays out of settings.DATABASES: nothing else (migrate, test set-up) sees it."""
    if not url:
        yield connections[DEFAULT_DB_ALIAS]
        return
    if alias in connections.settings:
        raise RuntimeError(f"{alias!r} is a database of the settings already.")
    config = connections.configure_settings({"default": environ.Env.db_url_config(url)})["default"]
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    connections[alias] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections[alias]
