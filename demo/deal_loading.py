"""Writing the walked demo deals: batch by batch, each one transaction of bulk inserts
(`pipeline_crm.db.bulk_insert`), the deals placed in their columns as the board places them and
flagged by the stall sweep's own rule.
"""

from __future__ import annotations

import datetime as dt
import gc
import queue
import random
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter

from django.db import connection
from django.db.models import Case, DateTimeField, F, Model, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from deals.models import Deal, FieldChange, Stage, StageChange
from deals.services.positions import column_edge, positions_below
from deals.stalls import WatchedStage, idle_condition, reasons_expression, watched_stages
from demo.bulk_load import TriggerMode, recount, trigger_mode, writes_without_triggers
from demo.demo_deals import DealPlan, DealWalk, Row, World
from followups.models import Activity
from pipeline_crm.db import bulk_insert, is_postgresql, relaxed_durability

WRITE_IN_BACKGROUND = True  # bench/seed_demo.py --serial turns it off to measure each side
DEAL_BATCH = 10_000  # deals per transaction, their history and activities included
# From this many new deals on, the load runs without the running counts' triggers and counts
# everything once afterwards (`demo.bulk_load`). The triggers cost ~10-16 ms a new deal; the
# recount reads the whole database (49 s at 100,000 deals, busy 2 cores): a small top-up (the
# 500 deals of `make run`, a test's few hundred) keeps the triggers and leaves the rest alone.
BULK_LOAD_MIN_DEALS = 20_000


class ColumnPositions:
    """Sort keys for each batch, below the cards already in each column (as a deleted stage's
    deals are placed: `positions_below`).

    Within a batch the latest arrivals come first, as on a board where moves land on top.
    """

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.bottom = {stage.pk: column_edge(stage, top=False) for stage in stages}

    def assign(self, plans: Sequence[DealPlan]) -> None:
        by_stage: dict[int, list[Row]] = defaultdict(list)
        for plan in plans:
            by_stage[plan.deal["stage_id"]].append(plan.deal)
        for stage_id, deals in by_stage.items():
            deals.sort(key=itemgetter("stage_entered_at"), reverse=True)
            positions = positions_below(self.bottom[stage_id], len(deals))
            for deal, position in zip(deals, positions, strict=True):
                deal["position"] = position
            self.bottom[stage_id] = positions[-1]


def _stalled_since(stages: Sequence[WatchedStage]) -> Case:
    """When the hourly sweep would have flagged a deal: its stage's stall_days after the later
    of its last move and its last activity."""
    idle_since = Greatest(
        F("stage_entered_at"), Coalesce(F("last_activity_at"), F("stage_entered_at"))
    )
    by_days: dict[int, list[int]] = defaultdict(list)
    for stage in stages:
        by_days[stage.stall_days].append(stage.pk)
    return Case(
        *[
            When(stage_id__in=ids, then=idle_since + Value(dt.timedelta(days=days)))
            for days, ids in by_days.items()
        ],
        output_field=DateTimeField(),
    )


def flag_stalled(deal_ids: Sequence[int], now: dt.datetime) -> None:
    """Flag the idle ones among these new deals with the stall sweep's rule and reasons
    (`deals.stalls`), as if the sweep had been running all along. Nobody has been told yet:
    the first real sweep sends the owners one batched notification.

    The batch is found by its id range: an IN list of 10,000 ids took 0.05-0.1 s a batch to
    build and send, the update itself 0.02 s. Another session's new deal in that range, were
    there one, would only get what the sweep gives it; a flagged one keeps its episode.
    """
    stages = watched_stages()
    idle = idle_condition(stages, now)
    if idle is None or not deal_ids:
        return
    batch = Deal.objects.filter(pk__range=(min(deal_ids), max(deal_ids)), stalled=False)
    batch.filter(idle).update(
        stalled=True,
        stall_reasons=reasons_expression(timezone.localdate(now)),
        stalled_since=_stalled_since(stages),
    )


def insert_batch(
    plans: Sequence[DealPlan], now: dt.datetime, mode: TriggerMode = TriggerMode.KEEP
) -> None:
    """One transaction: a batch of deals with their history and activities (with `mode`, no
    running-count trigger fires: `demo.bulk_load`)."""
    with writes_without_triggers(mode):
        relaxed_durability()
        deal_ids = bulk_insert(Deal, [plan.deal for plan in plans], need_ids=True)
        children: dict[type[Model], list[Row]] = {StageChange: [], FieldChange: [], Activity: []}
        for plan, deal_id in zip(plans, deal_ids, strict=True):
            for model, rows in (
                (StageChange, plan.stage_changes),
                (FieldChange, plan.field_changes),
                (Activity, plan.activities),
            ):
                for row in rows:
                    row["deal_id"] = deal_id
                children[model] += rows
        for child_model, child_rows in children.items():
            bulk_insert(child_model, child_rows)
        flag_stalled(deal_ids, now)


def _batches(world: World, count: int, seed: int) -> Iterator[list[DealPlan]]:
    # Seeded on purpose: the same demo data every time (nothing secret comes from it).
    walk = DealWalk(random.Random(seed), world)  # noqa: S311
    positions = ColumnPositions(list(world.stages.values()))
    for start in range(0, count, DEAL_BATCH):
        plans = [walk.plan() for _ in range(min(DEAL_BATCH, count - start))]
        positions.assign(plans)
        yield plans


def _insert_in_background(
    batches: Iterator[list[DealPlan]], now: dt.datetime, mode: TriggerMode
) -> None:
    """Generate the next batch here while a second thread (and connection) writes this one.

    On PostgreSQL the database does most of the work of an insert, so on two cores the walk and
    the writes overlap instead of taking turns.
    """
    work: queue.Queue[list[DealPlan] | None] = queue.Queue(maxsize=2)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while (batch := work.get()) is not None:
                if errors:
                    continue  # keep draining so the producer never blocks
                try:
                    insert_batch(batch, now, mode)
                except BaseException as exc:
                    errors.append(exc)
        finally:
            connection.close()

    writer = threading.Thread(target=write, name="seed-demo-writer", daemon=True)
    writer.start()
    try:
        for batch in batches:
            if errors:
                break
            work.put(batch)
    finally:
        work.put(None)
        writer.join()
    if errors:
        raise errors[0]


def create_deals(world: World, count: int, seed: int) -> None:
    """Walk `count` deals and insert them with their history, batch by batch; from
    `BULK_LOAD_MIN_DEALS` on, without the running counts' triggers and then one recount."""
    batches = _batches(world, count, seed)
    mode = trigger_mode() if count >= BULK_LOAD_MIN_DEALS else TriggerMode.KEEP
    with _cycle_collector_paused():
        try:
            # A second connection cannot see an open transaction's rows (e.g. inside a test),
            # and SQLite allows one writer at a time anyway: then everything runs on this thread.
            if WRITE_IN_BACKGROUND and is_postgresql() and not connection.in_atomic_block:
                _insert_in_background(batches, world.now, mode)
            else:
                for batch in batches:
                    insert_batch(batch, world.now, mode)
        finally:
            # Also after a failure: the batches committed so far are counted.
            if mode is not TriggerMode.KEEP:
                recount(mode)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """The walk makes a million small dicts and no reference cycles; Python's cycle collector
    would scan them again and again for nothing (about a sixth of the walk's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
