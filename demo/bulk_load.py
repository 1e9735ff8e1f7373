"""A big demo load without PostgreSQL's running-count triggers, then one recount.

The triggers on the deals, their moves and field changes (migrations deals 0010/0015/0018,
forecasting 0003-0005, search 0002/0004) keep the board's column totals, the stays' ends, the
deals' advanced/slipped instants, the funnel, stage reach, pipeline and movement day counts and
the search words right through every write. Some run per row: a load of 10,000 demo deals
paid ~80 s for them, more as the tables grow (100,000 deals: ~125 deals/s). So a big load
writes its batches with the triggers off and then counts everything derived once, with the code
the project rebuilds each of them with anyway (`recount`).

The triggers are turned off per batch transaction, so nothing outlives it, not even an error:
- `SET LOCAL session_replication_role = replica` (superusers; from PostgreSQL 15 also roles
  granted SET on it) turns them off for this session only; everyone else's writes keep firing
  theirs;
- else `ALTER TABLE … DISABLE TRIGGER USER` (the tables' owner), undone before the commit: other
  writers wait for the batch, and never see the triggers off;
- else (neither permitted) the load keeps the triggers (`TriggerMode.KEEP`).

Every batch commits on its own, so other sessions may see the new deals before the recount:
`demo.deal_loading.create_deals` runs the recount in a `finally`, for whatever was committed,
also when the load failed halfway.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper

from deals.models import Deal, FieldChange, Pipeline, StageChange
from deals.services import rebuild_column_totals, refresh_stay_ends
from forecasting.models import OpenStay
from forecasting.services import rebuild_history_counts, rebuild_running_counts
from pipeline_crm.db import is_postgresql, lock_against_writes
from search.word_list import add_deal_title_words

# The tables with triggers that a load (or the recount: OpenStay) writes, for the fallback.
TRIGGERED = (Deal, StageChange, FieldChange, OpenStay)


class TriggerMode(enum.Enum):
    KEEP = "keep"  # the triggers fire as for any write
    REPLICA = "replica"  # this session's writes fire none (session_replication_role)
    DISABLE = "disable"  # ALTER TABLE … DISABLE TRIGGER USER inside the transaction


class _RolledBack(Exception):
    """Raised to roll a probe back."""


def _permitted(mode: TriggerMode) -> bool:
    """Whether this role may turn the triggers off that way: tried in a transaction (or
    savepoint) that is rolled back."""
    try:
        with transaction.atomic(), _triggers_off(mode):
            raise _RolledBack
    except _RolledBack:
        return True
    except DatabaseError:
        return False


def trigger_mode() -> TriggerMode:
    """How a bulk load may run without the running counts' triggers here (PostgreSQL; SQLite
    keeps no running counts, so there is nothing to turn off)."""
    if not is_postgresql():
        return TriggerMode.KEEP
    for mode in (TriggerMode.REPLICA, TriggerMode.DISABLE):
        if _permitted(mode):
            return mode
    return TriggerMode.KEEP


def _tables() -> list[str]:
    return [connection.ops.quote_name(model._meta.db_table) for model in TRIGGERED]


@contextmanager
def _triggers_off(mode: TriggerMode) -> Iterator[None]:
    """Inside a transaction: the block's writes fire no user trigger. Turned back on when the
    block ends well; when it raises, the rollback of its transaction (or savepoint) undoes the
    SET LOCAL or ALTER TABLE along with the writes."""
    if mode is TriggerMode.KEEP:
        yield
        return
    with connection.cursor() as cursor:
        if mode is TriggerMode.REPLICA:
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            _alter_triggers(cursor, "DISABLE")
        yield
        # Back on before the transaction goes on (inside a test's, or an outer atomic block).
        if mode is TriggerMode.REPLICA:
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            _alter_triggers(cursor, "ENABLE")


def _alter_triggers(cursor: CursorWrapper, action: str) -> None:
    # PostgreSQL alters no table with trigger events pending: the deferred foreign key checks
    # of the rows written so far run now (as Django's `check_constraints` runs them).
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for table in _tables():
        cursor.execute(f"ALTER TABLE {table} {action} TRIGGER USER")


@contextmanager
def writes_without_triggers(mode: TriggerMode) -> Iterator[None]:
    """One transaction whose writes fire no running-count trigger (with `mode`)."""
    with transaction.atomic(), _triggers_off(mode):
        yield


def recount(mode: TriggerMode) -> None:
    """Everything the triggers keep, counted afresh from the deals and their history, once
    each, in one transaction that holds off other writers of the history meanwhile.

    In dependency order: the stays' ends and the deals' advanced/slipped instants first (the
    funnel counts the one, movement the other), then the sums. The recount itself runs with
    the triggers off too, where permitted: otherwise rewriting every move's end would make the
    funnel's triggers redo their sums for each, before the funnel is counted afresh anyway
    (slower, the same result: `TriggerMode.KEEP`, e.g. `seed_demo --recount` by a plain role).
    """
    with writes_without_triggers(mode):
        for model in (Deal, StageChange, FieldChange):
            lock_against_writes(model)
        with connection.cursor() as cursor:
            # As the migrations that counted the history first: the window functions over
            # every move sort in memory instead of on disk.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        for pipeline in Pipeline.objects.order_by("pk"):
            refresh_stay_ends(pipeline=pipeline)
        rebuild_column_totals()
        rebuild_running_counts()
        rebuild_history_counts()
        add_deal_title_words()
