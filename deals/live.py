"""Live board updates: a per-pipeline change counter in the cache, polled by every open board.

Why a poll and not server-sent events: the app runs under gunicorn's sync workers (and
runserver in development), where each open SSE stream would pin a worker for as long as the
tab is open, and a board is open all day. A poll every few seconds costs one session lookup
and one cache GET when nothing changed (answered 204 with an empty body), works through every
proxy, and needs no extra server. When something changed, the answer names the columns to
refresh, so the client re-fetches only those (with the number of cards it has loaded, keeping
its scroll position) and never touches an open form or dialog.

The counter is bumped after commit by `deals.listeners`, from what the services announce
(`deals.events`): every writer goes through the services (board, deal page, API, admin, jobs),
bulk moves and stage changes included.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

from pipeline_crm.cache import unreachable

# How long the list of changed columns is kept for each change: a board that has not polled
# for longer (a sleeping laptop) simply reloads all its columns.
CHANGE_TTL_SECONDS = 600
# More changes than this since the client's version: refreshing everything is cheaper.
MAX_CHANGES_REPLAYED = 50
EVERYTHING = "*"
# The version while the cache is down: what changed meanwhile is not counted (README "Faults").
UNKNOWN = -1


def _version_key(pipeline_id: int) -> str:
    return f"board:{pipeline_id}:version"


def _change_key(pipeline_id: int, version: int) -> str:
    return f"board:{pipeline_id}:change:{version}"


def current_version(pipeline_id: int) -> int:
    """The pipeline's change counter; UNKNOWN while the cache cannot be reached."""
    try:
        version = int(cache.get(_version_key(pipeline_id)) or 0)
    except Exception:  # a cache outage must not break the board; the poll then reloads all
        return UNKNOWN
    return UNKNOWN if unreachable() else version


def bump_board(pipeline_id: int, stage_ids: Iterable[int | None] | str = EVERYTHING) -> int:
    """Record that these columns (or, by default, the whole board) changed; returns the version."""
    key = _version_key(pipeline_id)
    try:
        try:
            version = cache.incr(key)
        except ValueError:  # the first change of this pipeline since the cache was emptied
            cache.add(key, 0, timeout=None)
            version = cache.incr(key)
        columns: Any = (
            EVERYTHING if stage_ids == EVERYTHING else sorted({s for s in stage_ids if s})
        )
        cache.set(_change_key(pipeline_id, version), columns, timeout=CHANGE_TTL_SECONDS)
        return int(version)
    except Exception:
        return 0


def changes_since(pipeline_id: int, version: int) -> tuple[int, list[int] | str | None]:
    """(current version, columns changed since `version`): None when nothing changed."""
    current = current_version(pipeline_id)
    if current == version:
        return current, None
    if UNKNOWN in (current, version):
        # The cache went down (the board reloads once and waits) or came back (the changes
        # made meanwhile were never counted: the board reloads once more).
        return current, EVERYTHING
    if version > current or current - version > MAX_CHANGES_REPLAYED:
        return current, EVERYTHING
    keys = [_change_key(pipeline_id, v) for v in range(version + 1, current + 1)]
    try:
        found = cache.get_many(keys)
    except Exception:
        return current, EVERYTHING
    if len(found) != len(keys):
        return current, EVERYTHING
    stage_ids: set[int] = set()
    for columns in found.values():
        if columns == EVERYTHING:
            return current, EVERYTHING
        stage_ids.update(columns)
    return current, sorted(stage_ids)
