"""Live board updates: a per-pipeline change counter in the cache, polled by every open board.

Why a poll and not server-sent events: the app runs under gunicorn's sync workers (and
runserver in development), where each open SSE stream would pin a worker for as long as the
tab is open, and a board is open all day. A poll every few seconds costs one session lookup
and one cache GET when nothing changed (answered 204 with an empty body), works through every
proxy, and needs no extra server. When something changed, the answer names the columns to
refresh, so the client re-fetches only those (with the number of cards it has loaded, keeping
its scroll position) and never touches an open form or dialog.

The counter is bumped by signals on `Deal` and `StageChange` after the transaction commits,
so every writer (board, deal page, API, admin, jobs) is covered without calling anything.
Bulk writes that skip signals (`QuerySet.update`, `bulk_update`) call `bump_board` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from deals.models import Deal, StageChange

# How long the list of changed columns is kept for each change: a board that has not polled
# for longer (a sleeping laptop) simply reloads all its columns.
CHANGE_TTL_SECONDS = 600
# More changes than this since the client's version: refreshing everything is cheaper.
MAX_CHANGES_REPLAYED = 50
EVERYTHING = "*"


def _version_key(pipeline_id: int) -> str:
    return f"board:{pipeline_id}:version"


def _change_key(pipeline_id: int, version: int) -> str:
    return f"board:{pipeline_id}:change:{version}"


def current_version(pipeline_id: int) -> int:
    try:
        return int(cache.get(_version_key(pipeline_id)) or 0)
    except Exception:  # a cache outage must not break the board; the poll then reloads all
        return 0


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


def _bump_on_commit(pipeline_id: int, stage_ids: list[int | None]) -> None:
    """Bump once the transaction commits; a move's several saves make one bump, not three."""
    connection = transaction.get_connection()
    # Changes are gathered per outermost transaction: one rolled back leaves nothing behind.
    outermost = connection.atomic_blocks[0] if connection.atomic_blocks else None
    state = connection.__dict__.get("board_live_pending")
    if state is None or state[0] is not outermost:
        state = (outermost, {})
        connection.__dict__["board_live_pending"] = state
    state[1].setdefault(pipeline_id, set()).update(s for s in stage_ids if s)
    transaction.on_commit(_flush_pending)


def _flush_pending() -> None:
    # The first callback of a transaction bumps for all its changes; the others find nothing.
    state = transaction.get_connection().__dict__.pop("board_live_pending", None)
    for pipeline_id, stage_ids in (state[1] if state else {}).items():
        bump_board(pipeline_id, stage_ids)


@receiver(post_save, sender=Deal, dispatch_uid="board_live_deal_saved")
def _deal_saved(sender: type[Deal], instance: Deal, **kwargs: Any) -> None:
    _bump_on_commit(instance.pipeline_id, [instance.stage_id])


@receiver(post_delete, sender=Deal, dispatch_uid="board_live_deal_deleted")
def _deal_deleted(sender: type[Deal], instance: Deal, **kwargs: Any) -> None:
    _bump_on_commit(instance.pipeline_id, [instance.stage_id])


@receiver(post_save, sender=StageChange, dispatch_uid="board_live_stage_change")
def _deal_moved(sender: type[StageChange], instance: StageChange, **kwargs: Any) -> None:
    # The deal's own save names the column it entered; this names the one it left.
    if kwargs.get("created") and instance.from_stage_id:
        deal = instance.deal
        _bump_on_commit(deal.pipeline_id, [instance.from_stage_id])
