"""System check (`manage.py check --database default`, and before every `migrate`): the running
counts of the forecast's history panels (migrations 0004 and 0005) count the days of the
TIME_ZONE they were built in; after TIME_ZONE changes they must be built again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError, connections


@register(Tags.database)
def running_counts_zone(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """An error per PostgreSQL database whose running counts follow another time zone."""
    errors: list[CheckMessage] = []
    for alias in databases or ():
        zone = _counted_zone(alias)
        if zone and zone != settings.TIME_ZONE:
            errors.append(
                Error(
                    f"The forecast's running counts in database {alias!r} count days in "
                    f"{zone}, not TIME_ZONE ({settings.TIME_ZONE}): movement and the "
                    "pipeline on a day would shift by the difference.",
                    hint="Build them again: manage.py migrate forecasting 0003, then "
                    "manage.py migrate.",
                    id="forecasting.E001",
                )
            )
    return errors


def _counted_zone(alias: str) -> str:
    """The zone the counts of database `alias` follow ("" where none are kept yet)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return ""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT forecasting_pipeline_days_zone()")
            row = cursor.fetchone()
    except DatabaseError:  # not migrated yet
        return ""
    return str(row[0]) if row else ""
