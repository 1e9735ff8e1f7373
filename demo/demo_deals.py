"""Demo deals: each one a walk through the default pipeline over the last 18 months.

A deal enters a stage, stays a while (activities logged along the way), then advances, is lost
(with a reason, in the stage it was in) or is still there today. What each step does to the deal
and which history rows it leaves is the services' own rule, applied at a time in the past: the
stage entry of `deals.services.moves` (a StageChange, the status the stage gives, its status
history row, won_at), a loss, a close-date edit (`set_field`: history row, push count) and what
an activity does to its deal (`worked_on`: last_activity_at). The walk only decides what happens
when; `demo.deal_loading` writes the rows in bulk (and lets the stall sweep's rule flag them).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.conf import settings

from accounts.models import User
from deals.models import Deal, LostReason, Stage
from deals.services.common import HistoryRow, stage_change_row
from deals.services.editing import set_field, worked_on
from deals.services.moves import lose, put_in_stage
from followups.models import Activity

HISTORY_DAYS = 548  # 18 months

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
# Reps differ, in the order of the demo's sellers: how much likelier than usual they lose a deal
# at each step, and how far ahead they expect a new deal to close (days; most are optimistic:
# the sales cycle is about 85, so deals slip). Both cycle when there are more sellers.
REP_LOSS_FACTORS = (0.75, 1.25, 0.9, 1.1, 0.85, 1.2)
REP_CLOSE_HORIZONS = ((30, 70), (45, 100), (35, 80), (60, 120), (40, 90), (30, 75))
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


@dataclass
class World:
    """What a walk draws on: the default pipeline and the demo people, companies and leads."""

    pipeline_id: int
    stages: dict[int, Stage]  # by order 1..7
    owners: list[User]
    owner_cum_weights: list[int]
    companies: list[tuple[int, str, list[int]]]  # (id, name, contact ids)
    lead_ids: list[int]  # converted leads a deal may come from
    currency: str
    now: dt.datetime
    lost_reasons: list[LostReason] = field(default_factory=list)  # as LOST_REASONS, in order
    # Per owner id: REP_LOSS_FACTORS and REP_CLOSE_HORIZONS.
    loss_factors: dict[int, float] = field(default_factory=dict)
    close_horizons: dict[int, tuple[int, int]] = field(default_factory=dict)


Row = dict[str, Any]  # a row's fields by attname, without its deal's id while it has none


@dataclass
class DealPlan:
    """One deal's row and the rows that belong to it (`deal_id` added once it has an id)."""

    deal: Row = field(default_factory=dict)
    stage_changes: list[HistoryRow] = field(default_factory=list)
    field_changes: list[HistoryRow] = field(default_factory=list)
    activities: list[Row] = field(default_factory=list)


def make_world(
    *,
    pipeline_id: int,
    stages: Sequence[Stage],
    owners: Sequence[tuple[User, int]],
    companies: list[tuple[int, str, list[int]]],
    lead_ids: list[int],
    now: dt.datetime,
) -> World:
    by_order = {s.order: s for s in stages}
    kinds = (
        [by_order[o].kind for o in sorted(by_order)] if set(by_order) == set(range(1, 8)) else []
    )
    if kinds != [Stage.Kind.OPEN] * 5 + [Stage.Kind.WON, Stage.Kind.POST_SALE]:
        raise ValueError(
            "The demo needs the default pipeline of SPEC §2 (5 open stages, won, post-sale); "
            "it has been edited here, so seed a fresh database."
        )
    return World(
        pipeline_id=pipeline_id,
        stages=by_order,
        owners=[owner for owner, _ in owners],
        owner_cum_weights=list(itertools.accumulate(share for _, share in owners)),
        companies=companies,
        lead_ids=lead_ids,
        currency=settings.DEFAULT_CURRENCY,
        now=now,
        lost_reasons=_demo_lost_reasons(),
        loss_factors={
            o.pk: REP_LOSS_FACTORS[i % len(REP_LOSS_FACTORS)] for i, (o, _) in enumerate(owners)
        },
        close_horizons={
            o.pk: REP_CLOSE_HORIZONS[i % len(REP_CLOSE_HORIZONS)] for i, (o, _) in enumerate(owners)
        },
    )


def _demo_lost_reasons() -> list[LostReason]:
    """The entries of the lost-reason list the demo's losses give, added when missing."""
    entries = []
    for order, (name, _) in enumerate(LOST_REASONS, start=1):
        entry = LostReason.objects.named(name) or LostReason.objects.create(name=name, order=order)
        entries.append(entry)
    return entries


def _days(value: float) -> dt.timedelta:
    return dt.timedelta(days=value)


def _amount(rng: random.Random) -> Decimal:
    # Log-normal: many small deals, a few large ones; rounded to hundreds like real quotes.
    return Decimal(max(500, round(rng.lognormvariate(9.6, 0.8) / 100) * 100))


class DealWalk:
    """Builds one DealPlan; small methods so each step of the history reads on its own.

    Every walk works on the same Deal in memory, set afresh for each new deal, whose values are
    then taken as its row: the services' rules act on a Deal, and a model instance per deal cost
    more than the rest of the walk.
    """

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng = rng
        self.world = world
        self.now = world.now
        self.deal = Deal()
        fields = [f for f in Deal._meta.concrete_fields if not f.primary_key]
        # The defaults a new deal starts from (plain attributes, so one dict update sets them
        # all); `_new_deal` sets every foreign key itself.
        self._blank = {
            f.attname: getattr(self.deal, f.attname) for f in fields if not f.is_relation
        }
        self._fields = [f.attname for f in fields]
        self._values = attrgetter(*self._fields)

    def plan(self) -> DealPlan:
        rng, world = self.rng, self.world
        owner = rng.choices(world.owners, cum_weights=world.owner_cum_weights)[0]
        self.owner, self.owner_id = owner, owner.pk
        company = rng.choice(world.companies)
        lead_id = rng.choice(world.lead_ids) if world.lead_ids and rng.random() < 0.15 else None
        # More recent deals than old ones: the business (and the CRM's use) grew.
        created = self.now - _days(HISTORY_DAYS * rng.random() ** 2)
        # A converted lead is already qualified: its deal starts one stage later.
        first_stage = world.stages[2 if lead_id else 1]
        deal = self._new_deal(first_stage, created, company, lead_id)
        self.plan_ = plan = DealPlan()
        plan.stage_changes.append(stage_change_row(None, first_stage, by=owner, at=created))
        order = self._walk(first_stage.order, created)
        if deal.status != Deal.Status.LOST:
            self._plan_next_activity(order)
        deal.updated_at = max(
            deal.stage_entered_at, deal.last_activity_at or created, deal.lost_at or created
        )
        plan.deal = dict(zip(self._fields, self._values(deal), strict=True))
        return plan

    def _new_deal(
        self,
        stage: Stage,
        created: dt.datetime,
        company: tuple[int, str, list[int]],
        lead_id: int | None,
    ) -> Deal:
        """The walk's Deal set afresh as `create_deal` makes one: in `stage`, with the status the
        stage gives."""
        rng, deal = self.rng, self.deal
        company_id, company_name, contact_ids = company
        vars(deal).update(self._blank)
        deal.title = f"{company_name} – {rng.choice(PRODUCTS)}"
        deal.amount = _amount(rng)
        horizon = self.world.close_horizons.get(self.owner_id, (60, 150))
        deal.expected_close_date = (created + _days(rng.uniform(*horizon))).date()
        deal.probability_override = rng.choice((60, 80, 90)) if rng.random() < 0.04 else None
        deal.pipeline_id = self.world.pipeline_id
        deal.stage = stage
        deal.status = stage.deal_status
        deal.currency = self.world.currency
        deal.owner_id = self.owner_id
        deal.company_id, deal.lead_id = company_id, lead_id
        deal.contact_id = rng.choice(contact_ids) if contact_ids else None
        deal.lost_reason = None  # the previous deal's, when it was lost
        deal.stage_entered_at = deal.created_at = created
        return deal

    def _walk(self, order: int, at: dt.datetime) -> int:
        """Move stage by stage until lost, won for good, or today; returns the final order."""
        rng, stages, now = self.rng, self.world.stages, self.now
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
                    self._enter(stages[order], left)
                    at = left
                    continue
                return order
            still_here = left >= now
            self._push_overdue(min(left, now))
            neglected = still_here and rng.random() < NEGLECT_CHANCE
            self._log_activities(order, at, min(left, now), neglected=neglected, limit=2)
            if still_here:
                return order
            if rng.random() < LOSS_CHANCE[order] * self.world.loss_factors.get(self.owner_id, 1):
                self._lose(left)
                return order
            order += 1
            self._enter(stages[order], left)
            if stages[order].kind == Stage.Kind.WON:
                # Signed about when expected: the rep set the close date to the signing day.
                won_on = left + _days(rng.uniform(-10, 3))
                self._set_close_date(won_on.date(), left)
            at = left

    def _enter(self, stage: Stage, at: dt.datetime) -> None:
        """The services' stage entry at `at`: its StageChange, and the status row if any."""
        move, status_change = put_in_stage(self.deal, stage, by=self.owner, at=at, position=0)
        self.plan_.stage_changes.append(move)
        if status_change is not None:
            self.plan_.field_changes.append(status_change)

    def _lose(self, at: dt.datetime) -> None:
        """The services' loss at `at`: lost where it is, with a reason, and its status row."""
        weights = [weight for _, weight in LOST_REASONS]
        reason = self.rng.choices(self.world.lost_reasons, weights)[0]
        self.plan_.field_changes.append(lose(self.deal, by=self.owner, reason=reason, at=at))

    def _push_overdue(self, until: dt.datetime) -> None:
        """While the deal is open past its expected close date, the rep pushes the date back
        a few days after it passed (once or repeatedly): the slips the forecast learns."""
        rng, deal = self.rng, self.deal
        while deal.expected_close_date is not None:
            at = dt.datetime.combine(deal.expected_close_date, dt.time(9), tzinfo=dt.UTC)
            at += _days(rng.uniform(1, 10))
            if at >= until:
                return
            self._set_close_date(at.date() + dt.timedelta(days=rng.randint(14, 45)), at)

    def _set_close_date(self, day: dt.date, at: dt.datetime) -> None:
        """An edit as `update_deal` makes it: a push counted, a history row, a new version."""
        change = set_field(self.deal, "expected_close_date", day, by=self.owner, at=at)
        if change is not None:  # a tracked field: always
            self.plan_.field_changes.append(change)
        self.deal.version += 1

    def _log(self, at: dt.datetime, kind: str, subject: str, **planned: Any) -> None:
        """An activity logged at `at` (done then, unless `planned` says when it is due), and
        what logging it does to the deal."""
        self.plan_.activities.append(
            {
                "kind": kind,
                "subject": subject,
                "owner_id": self.owner_id,
                "done_at": at,
                "created_at": at,
                **planned,
            }
        )
        worked_on(self.deal, at)

    def _log_done(self, order: int, at: dt.datetime) -> None:
        self._log(at, *self.rng.choice(ACTIVITY_SUBJECTS[order]))

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
            self._log_done(order, at)
            logged += 1
            at += _days(rng.expovariate(1 / ACTIVITY_EVERY_DAYS))

    def _care_for_customer(self, since: dt.datetime) -> None:
        """Post-sale: onboarding right after the win, then check-ins (unless forgotten)."""
        rng, now = self.rng, self.now
        self._log_done(7, min(since + _days(rng.uniform(1, 7)), now))
        if rng.random() < NEGLECT_CHANCE:
            return
        latest = max(since, now - _days(rng.expovariate(1 / 12)))
        for _ in range(rng.randint(0, 2)):
            self._log_done(7, since + (latest - since) * rng.random())
        self._log_done(7, latest)

    def _plan_next_activity(self, order: int) -> None:
        """Most live deals have a next step planned: some overdue, many with a reminder soon."""
        rng, now, deal = self.rng, self.now, self.deal
        if rng.random() < 0.35:
            deal.next_step = NEXT_STEPS[order] if rng.random() < 0.5 else ""
            return
        kind, subject = rng.choice(ACTIVITY_SUBJECTS[order])
        due = now + dt.timedelta(hours=rng.uniform(-24 * 5, 24 * 14))
        remind = due - dt.timedelta(minutes=rng.choice((15, 60, 24 * 60)))
        # A few reminders fire minutes after the demo starts, so the bell has something to say.
        if rng.random() < 0.01:
            remind = now + dt.timedelta(minutes=rng.uniform(2, 30))
            due = remind + dt.timedelta(minutes=15)
        # Planned right after the last thing that happened to the deal.
        planned_at = max(deal.stage_entered_at, deal.last_activity_at or deal.stage_entered_at)
        # Reminders already due went out back then: starting the demo floods nobody.
        reminded = remind if remind <= now else None
        planned = {"done_at": None, "due_at": due, "remind_at": remind, "reminded_at": reminded}
        self._log(planned_at, kind, subject, **planned)
        deal.next_step = subject
