"""Demo deals: each one a walk through the default pipeline over the last 18 months.

A deal enters a stage, stays a while (activities logged along the way), then advances, is lost
(with a reason, in the stage it was in) or is still there today. The walk writes the rows the
services would have written — a StageChange per move, FieldChange rows for status and close-date
changes, activities that refresh last_activity_at, the stall flag of the stall job — so the board,
the forecast and the jobs see consistent data. Rows are plain dicts, inserted in bulk.
"""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import random
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Max

from deals.models import Deal, FieldChange, Stage, StageChange
from deals.services import POSITION_GAP
from demo.bulk_rows import Row, insert_rows, relaxed_durability
from followups.models import Activity

HISTORY_DAYS = 548  # 18 months
WRITE_IN_BACKGROUND = True  # bench/seed_demo.py --serial turns it off to measure each side
DEAL_BATCH = 10_000  # deals per transaction, their history and activities included

PRODUCTS = (
    "Annual licence",
    "Platform rollout",
    "Pilot project",
    "Support renewal",
    "Team expansion",
    "Analytics add-on",
    "Onboarding package",
    "Enterprise upgrade",
    "Integration project",
    "Multi-year contract",
)
LOST_REASONS = (
    ("Chose a competitor", 5),
    ("Price too high", 4),
    ("No budget this year", 3),
    ("Went silent", 4),
    ("Bad timing: not now", 2),
    ("Missing feature", 2),
    ("No decision maker", 1),
)
# Per stage order (SPEC §2): mean days a deal stays, and the chance it is lost on the way out.
MEAN_DWELL_DAYS = {1: 14.0, 2: 16.0, 3: 22.0, 4: 18.0, 5: 14.0, 6: 15.0}
LOSS_CHANCE = {1: 0.25, 2: 0.20, 3: 0.15, 4: 0.20, 5: 0.15}
POST_SALE_CHANCE = 0.6  # a won deal that moves on to onboarding and account care
NEGLECT_CHANCE = 0.2  # a live deal nobody has touched for a while: the stall job's business
ACTIVITY_EVERY_DAYS = 7.0
ACTIVITY_SUBJECTS = {
    1: ((Activity.Kind.CALL, "Cold call"), (Activity.Kind.EMAIL, "Intro e-mail")),
    2: ((Activity.Kind.CALL, "Qualification call"), (Activity.Kind.NOTE, "BANT notes")),
    3: ((Activity.Kind.MEETING, "Discovery meeting"), (Activity.Kind.CALL, "Needs follow-up")),
    4: ((Activity.Kind.MEETING, "Product demo"), (Activity.Kind.EMAIL, "Sent the proposal")),
    5: ((Activity.Kind.CALL, "Pricing call"), (Activity.Kind.MEETING, "Contract review")),
    6: ((Activity.Kind.EMAIL, "Welcome e-mail"), (Activity.Kind.NOTE, "Signed contract")),
    7: ((Activity.Kind.MEETING, "Onboarding session"), (Activity.Kind.CALL, "Check-in call")),
}
NEXT_STEPS = {
    1: "Book a first call",
    2: "Confirm budget and decision maker",
    3: "Schedule the discovery meeting",
    4: "Walk through the proposal",
    5: "Agree on terms",
    6: "Kick off onboarding",
    7: "Quarterly business review",
}


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    order: int
    kind: str
    stall_days: int | None


@dataclass
class World:
    """What a walk draws on: the default pipeline and the demo people, companies and leads."""

    pipeline_id: int
    stages: dict[int, StageInfo]  # by order 1..7
    owner_ids: list[int]
    owner_cum_weights: list[int]
    companies: list[tuple[int, str, list[int]]]  # (id, name, contact ids)
    lead_ids: list[int]  # converted leads a deal may come from
    currency: str
    now: dt.datetime


@dataclass
class DealPlan:
    """One deal row and the rows that belong to it (deal_id filled in once the deal has an id)."""

    deal: Row
    stage_changes: list[Row] = field(default_factory=list)
    field_changes: list[Row] = field(default_factory=list)
    activities: list[Row] = field(default_factory=list)


def make_world(
    *,
    pipeline_id: int,
    stages: Sequence[Stage],
    owners: Sequence[tuple[int, int]],
    companies: list[tuple[int, str, list[int]]],
    lead_ids: list[int],
    now: dt.datetime,
) -> World:
    infos = {s.order: StageInfo(s.pk, s.name, s.order, s.kind, s.stall_days) for s in stages}
    kinds = [infos[o].kind for o in sorted(infos)] if set(infos) == set(range(1, 8)) else []
    if kinds != [Stage.Kind.OPEN] * 5 + [Stage.Kind.WON, Stage.Kind.POST_SALE]:
        raise ValueError(
            "The demo needs the default pipeline of SPEC §2 (5 open stages, won, post-sale); "
            "it has been edited here, so seed a fresh database."
        )
    return World(
        pipeline_id=pipeline_id,
        stages=infos,
        owner_ids=[pk for pk, _ in owners],
        owner_cum_weights=list(itertools.accumulate(share for _, share in owners)),
        companies=companies,
        lead_ids=lead_ids,
        currency=settings.DEFAULT_CURRENCY,
        now=now,
    )


def _days(value: float) -> dt.timedelta:
    return dt.timedelta(days=value)


def _amount(rng: random.Random) -> Decimal:
    # Log-normal: many small deals, a few large ones; rounded to hundreds like real quotes.
    return Decimal(max(500, round(rng.lognormvariate(9.6, 0.8) / 100) * 100))


class DealWalk:
    """Builds one DealPlan; small methods so each rule of the history reads on its own."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng = rng
        self.world = world
        self.now = world.now

    def plan(self) -> DealPlan:
        rng, world, now = self.rng, self.world, self.now
        owner_id = rng.choices(world.owner_ids, cum_weights=world.owner_cum_weights)[0]
        company_id, company, contact_ids = rng.choice(world.companies)
        lead_id = rng.choice(world.lead_ids) if world.lead_ids and rng.random() < 0.15 else None
        # More recent deals than old ones: the business (and the CRM's use) grew.
        created = now - _days(HISTORY_DAYS * rng.random() ** 2)
        self.plan_ = plan = DealPlan(
            deal={
                "title": f"{company} – {rng.choice(PRODUCTS)}",
                "pipeline_id": world.pipeline_id,
                "status": Deal.Status.OPEN,
                "amount": _amount(rng),
                "currency": world.currency,
                "expected_close_date": (created + _days(rng.uniform(60, 150))).date(),
                "probability_override": (rng.choice((60, 80, 90)) if rng.random() < 0.04 else None),
                "owner_id": owner_id,
                "company_id": company_id,
                "contact_id": rng.choice(contact_ids) if contact_ids else None,
                "lead_id": lead_id,
                "version": 1,
                "next_step": "",
                "lost_reason": "",
                "won_at": None,
                "lost_at": None,
                "stalled": False,
                "stall_reasons": [],
                "stalled_since": None,
                "close_date_pushes": 0,
                "created_at": created,
            }
        )
        # A converted lead is already qualified: its deal starts one stage later.
        order = self._walk(start_order=2 if lead_id else 1, created=created)
        deal = plan.deal
        if deal["status"] == Deal.Status.OPEN:
            self._slip_close_date()
        if deal["status"] != Deal.Status.LOST:
            self._plan_next_activity(order)
        deal["last_activity_at"] = max(
            (a["done_at"] or a["created_at"] for a in plan.activities), default=None
        )
        self._mark_stall(self.world.stages[order])
        deal["updated_at"] = max(
            deal["stage_entered_at"],
            deal["last_activity_at"] or created,
            deal["lost_at"] or created,
        )
        return plan

    def _walk(self, *, start_order: int, created: dt.datetime) -> int:
        """Move stage by stage until lost, won for good, or today; returns the final order."""
        rng, stages, now = self.rng, self.world.stages, self.now
        order = start_order
        self._enter(None, stages[order], created)
        at = created
        while True:
            stage = stages[order]
            if stage.kind == Stage.Kind.POST_SALE:
                self._care_for_customer(at)
                return order
            left = at + _days(rng.expovariate(1 / MEAN_DWELL_DAYS[order]))
            if stage.kind == Stage.Kind.WON:
                self._log_activities(order, at, min(left, now), limit=1)
                if left < now and rng.random() < POST_SALE_CHANCE:
                    order += 1
                    self._enter(stage, stages[order], left)
                    at = left
                    continue
                return order
            still_here = left >= now
            neglected = still_here and rng.random() < NEGLECT_CHANCE
            self._log_activities(order, at, min(left, now), neglected=neglected, limit=2)
            if still_here:
                return order
            if rng.random() < LOSS_CHANCE[order]:
                self._lose(left)
                return order
            order += 1
            self._enter(stage, stages[order], left)
            if stages[order].kind == Stage.Kind.WON:
                self._win(left)
            at = left

    def _enter(self, from_stage: StageInfo | None, to_stage: StageInfo, at: dt.datetime) -> None:
        deal = self.plan_.deal
        self.plan_.stage_changes.append(
            {
                "from_stage_id": from_stage.id if from_stage else None,
                "to_stage_id": to_stage.id,
                "from_stage_name": from_stage.name if from_stage else "",
                "to_stage_name": to_stage.name,
                "by_id": deal["owner_id"],
                "at": at,
            }
        )
        deal["stage_id"] = to_stage.id
        deal["stage_entered_at"] = at
        if from_stage is not None:
            deal["version"] += 1

    def _record(self, name: str, old: object, new: object, at: dt.datetime) -> None:
        self.plan_.field_changes.append(
            {
                "field": name,
                "old_value": "" if old is None else str(old),
                "new_value": "" if new is None else str(new),
                "by_id": self.plan_.deal["owner_id"],
                "at": at,
            }
        )

    def _win(self, at: dt.datetime) -> None:
        deal = self.plan_.deal
        self._record("status", Deal.Status.OPEN.value, Deal.Status.WON.value, at)
        deal["status"] = Deal.Status.WON
        deal["won_at"] = at
        deal["expected_close_date"] = (at + _days(self.rng.uniform(-10, 3))).date()

    def _lose(self, at: dt.datetime) -> None:
        deal = self.plan_.deal
        self._record("status", Deal.Status.OPEN.value, Deal.Status.LOST.value, at)
        deal["status"] = Deal.Status.LOST
        deal["lost_at"] = at
        reasons, weights = zip(*LOST_REASONS, strict=True)
        deal["lost_reason"] = self.rng.choices(reasons, weights)[0]
        deal["version"] += 1

    def _slip_close_date(self) -> None:
        """Some open deals have had their close date pushed back, once or repeatedly."""
        rng, deal = self.rng, self.plan_.deal
        pushes = rng.choices((0, 1, 2, 3, 4), (70, 15, 7, 5, 3))[0]
        span = (self.now - deal["created_at"]).total_seconds()
        times = sorted(
            deal["created_at"] + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(pushes)
        )
        for at in times:
            later = deal["expected_close_date"] + dt.timedelta(days=rng.randint(14, 45))
            self._record("expected_close_date", deal["expected_close_date"], later, at)
            deal["expected_close_date"] = later
            deal["close_date_pushes"] += 1
            deal["version"] += 1

    def _activity(self, order: int, done_at: dt.datetime) -> None:
        kind, subject = self.rng.choice(ACTIVITY_SUBJECTS[order])
        self.plan_.activities.append(
            {
                "kind": kind,
                "subject": subject,
                "owner_id": self.plan_.deal["owner_id"],
                "done_at": done_at,
                "created_at": done_at,
            }
        )

    def _log_activities(
        self,
        order: int,
        start: dt.datetime,
        end: dt.datetime,
        *,
        neglected: bool = False,
        limit: int = 1,
    ) -> None:
        """Calls, e-mails and meetings every few days while the deal sits in a stage."""
        rng = self.rng
        if neglected:  # worked at first, then left alone
            end = start + (end - start) * rng.uniform(0, 0.4)
        at = start + _days(rng.expovariate(1 / ACTIVITY_EVERY_DAYS))
        logged = 0
        while at < end and logged < limit:
            self._activity(order, at)
            logged += 1
            at += _days(rng.expovariate(1 / ACTIVITY_EVERY_DAYS))

    def _care_for_customer(self, since: dt.datetime) -> None:
        """Post-sale: onboarding right after the win, then check-ins (unless forgotten)."""
        rng, now = self.rng, self.now
        self._activity(7, min(since + _days(rng.uniform(1, 7)), now))
        if rng.random() < NEGLECT_CHANCE:
            return
        latest = max(since, now - _days(rng.expovariate(1 / 12)))
        for _ in range(rng.randint(0, 2)):
            self._activity(7, since + (latest - since) * rng.random())
        self._activity(7, latest)

    def _plan_next_activity(self, order: int) -> None:
        """Most live deals have a next step planned: some overdue, many with a reminder soon."""
        rng, now, plan = self.rng, self.now, self.plan_
        deal = plan.deal
        if rng.random() < 0.35:
            deal["next_step"] = NEXT_STEPS[order] if rng.random() < 0.5 else ""
            return
        kind, subject = rng.choice(ACTIVITY_SUBJECTS[order])
        due = now + dt.timedelta(hours=rng.uniform(-24 * 5, 24 * 14))
        remind = due - dt.timedelta(minutes=rng.choice((15, 60, 24 * 60)))
        # A few reminders fire minutes after the demo starts, so the bell has something to say.
        if rng.random() < 0.01:
            remind = now + dt.timedelta(minutes=rng.uniform(2, 30))
            due = remind + dt.timedelta(minutes=15)
        planned_at = max([deal["stage_entered_at"], *(a["created_at"] for a in plan.activities)])
        plan.activities.append(
            {
                "kind": kind,
                "subject": subject,
                "owner_id": deal["owner_id"],
                "due_at": due,
                "remind_at": remind,
                # Reminders already due went out back then: starting the demo floods nobody.
                "reminded_at": remind if remind <= now else None,
                "done_at": None,
                "created_at": planned_at,
            }
        )
        deal["next_step"] = subject

    def _mark_stall(self, stage: StageInfo) -> None:
        """The stall job's rule (SPEC §6): idle longer than the stage's stall_days."""
        deal, now = self.plan_.deal, self.now
        live = deal["status"] == Deal.Status.OPEN or (
            deal["status"] == Deal.Status.WON and stage.kind == Stage.Kind.POST_SALE
        )
        if not live or stage.stall_days is None:
            return
        idle_since = max(
            deal["stage_entered_at"], deal["last_activity_at"] or deal["stage_entered_at"]
        )
        stalled_since = idle_since + _days(stage.stall_days)
        if stalled_since >= now:
            return
        reasons = ["idle"]
        planned = any(a["done_at"] is None for a in self.plan_.activities)
        if not planned and not deal["next_step"]:
            reasons.append("no_next_step")
        if deal["expected_close_date"] < now.date() and deal["status"] == Deal.Status.OPEN:
            reasons.append("close_date_passed")
        if deal["close_date_pushes"] >= 3:
            reasons.append("close_date_pushed")
        deal.update(stalled=True, stall_reasons=reasons, stalled_since=stalled_since)


class ColumnPositions:
    """Spaced sort keys (POSITION_GAP apart) below each column's current cards.

    Within a batch the latest arrivals come first, as on a board where moves land on top.
    """

    def __init__(self) -> None:
        lowest = Deal.objects.values("stage").annotate(m=Max("position")).values_list("stage", "m")
        self.next: dict[int, int] = {
            stage_id: position + POSITION_GAP
            for stage_id, position in lowest  # type: ignore[misc]
            if position is not None
        }

    def assign(self, plans: Sequence[DealPlan]) -> None:
        by_stage: dict[int, list[Row]] = defaultdict(list)
        for plan in plans:
            by_stage[plan.deal["stage_id"]].append(plan.deal)
        for stage_id, deals in by_stage.items():
            deals.sort(key=lambda d: d["stage_entered_at"], reverse=True)
            start = self.next.get(stage_id, POSITION_GAP)
            for i, deal in enumerate(deals):
                deal["position"] = start + i * POSITION_GAP
            self.next[stage_id] = start + len(deals) * POSITION_GAP


def insert_batch(plans: Sequence[DealPlan]) -> None:
    """One transaction: a batch of deals with their history and activities."""
    with transaction.atomic():
        relaxed_durability()
        insert_rows(Deal, [p.deal for p in plans], need_ids=True)
        children: dict[type[models.Model], list[Row]] = {
            StageChange: [],
            FieldChange: [],
            Activity: [],
        }
        for plan in plans:
            deal_id = plan.deal["id"]
            for model, rows in (
                (StageChange, plan.stage_changes),
                (FieldChange, plan.field_changes),
                (Activity, plan.activities),
            ):
                for row in rows:
                    row["deal_id"] = deal_id
                children[model].extend(rows)
        for child_model, child_rows in children.items():
            insert_rows(child_model, child_rows)


def _batches(world: World, count: int, seed: int) -> Iterator[list[DealPlan]]:
    walk = DealWalk(random.Random(seed), world)
    positions = ColumnPositions()
    for start in range(0, count, DEAL_BATCH):
        plans = [walk.plan() for _ in range(min(DEAL_BATCH, count - start))]
        positions.assign(plans)
        yield plans


def _insert_in_background(batches: Iterator[list[DealPlan]]) -> None:
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
                    insert_batch(batch)
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
    """Walk `count` deals and insert them with their history, batch by batch."""
    batches = _batches(world, count, seed)
    # A second connection cannot see an open transaction's rows (e.g. inside a test), and
    # SQLite allows one writer at a time anyway: then everything runs on this thread.
    if WRITE_IN_BACKGROUND and connection.vendor == "postgresql" and not connection.in_atomic_block:
        _insert_in_background(batches)
    else:
        for batch in batches:
            insert_batch(batch)
