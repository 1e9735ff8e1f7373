"""Stall detection (SPEC §6): a deal nobody has moved or worked on for longer than its stage's
`stall_days` is flagged, with the reasons, and its owner (later its managers) told once.

Watched: open deals in open stages, and won deals in post-sale stages (a customer left without
follow-up). Idle means both `stage_entered_at` and `last_activity_at` (the later of the two) are
older than the stage's threshold. Being idle is what stalls a deal; the other reasons say what
else is wrong with it:

- `idle` — no move and no activity for longer than the stage's stall_days (always present);
- `no_next_step` — no planned activity and an empty next step;
- `close_date_passed` — an open deal whose expected close date is in the past;
- `close_date_pushed` — an open deal whose close date was moved later three or more times.

The sweep is a handful of UPDATE statements over the whole table, never a Python loop over
deals: the thresholds come from the few stages, so the idle test compares plain columns, and the
reasons are one CASE expression. A move or an activity clears the flag at once in
`deals.services`; the sweep clears deals that stopped being idle some other way (e.g. a stage's
stall_days was raised). Owners are notified once per stall episode, the owner's team managers
once the deal has been idle twice the threshold; `stall_notified` remembers who was told, and
the notifications' dedupe keys (holding `stalled_since`) make a repeat impossible anyway.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any, cast

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, Left
from django.utils import timezone

from deals.models import Deal, Stage
from followups.models import Activity, Notification
from followups.notifications import MANAGER_BATCH, OWNER_BATCH
from pipeline_crm.db import insert_from_select, serialize_on, tune_for_bulk_writes

IDLE = "idle"
NO_NEXT_STEP = "no_next_step"
CLOSE_DATE_PASSED = "close_date_passed"
CLOSE_DATE_PUSHED = "close_date_pushed"
REASON_LABELS = {
    IDLE: "no move or activity",
    NO_NEXT_STEP: "no next step planned",
    CLOSE_DATE_PASSED: "expected close date passed",
    CLOSE_DATE_PUSHED: "close date pushed back repeatedly",
}
PUSHES_BEFORE_FLAG = 3
# Deal.stall_notified: who has been told of the current episode.
TOLD_NOBODY, TOLD_OWNER, TOLD_MANAGERS = 0, 1, 2
MANAGER_FACTOR = 2
# A sweep with more stalled deals than this to tell one person about (a first sweep over
# imported data, a rep back from holiday) tells them once, with the count and a link to those
# deals on the board, instead of filling their bell with one notification per deal.
BATCH_ABOVE = 10


@dataclass(frozen=True)
class StallSweep:
    started: int
    reasons_changed: int
    cleared: int
    owners_notified: int
    managers_notified: int


@dataclass(frozen=True)
class WatchedStage:
    pk: int
    stall_days: int
    status: str  # the deal status watched in this stage


def watched_stages() -> list[WatchedStage]:
    """Stages with a threshold, each watching the deals of the status it gives (open deals in an
    open stage, won ones in a post-sale stage); won stages are never watched (the deal is done
    there)."""
    stages = (
        Stage.objects.filter(stall_days__isnull=False)
        .exclude(kind=Stage.Kind.WON)
        .only("pk", "stall_days", "kind")
    )
    return [
        WatchedStage(pk=stage.pk, stall_days=int(stage.stall_days or 0), status=stage.deal_status)
        for stage in stages
    ]


def idle_condition(stages: list[WatchedStage], now: dt.datetime, factor: int = 1) -> Q | None:
    """Watched deals idle for longer than `factor` × their stage's threshold (None: no stage)."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for stage in stages:
        groups[(stage.stall_days, stage.status)].append(stage.pk)
    conditions = []
    for (days, status), stage_ids in groups.items():
        cutoff = now - dt.timedelta(days=days * factor)
        conditions.append(
            Q(stage_id__in=stage_ids, status=status, stage_entered_at__lt=cutoff)
            & (Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=cutoff))
        )
    return reduce(or_, conditions) if conditions else None


def extra_reason_conditions(today: dt.date) -> dict[str, Q]:
    """The reasons beyond idleness, each as a condition on the deal row."""
    planned = Activity.objects.filter(deal_id=OuterRef("pk"), done_at__isnull=True)
    return {
        NO_NEXT_STEP: Q(~Exists(planned), next_step=""),
        CLOSE_DATE_PASSED: Q(status=Deal.Status.OPEN, expected_close_date__lt=today),
        CLOSE_DATE_PUSHED: Q(status=Deal.Status.OPEN, close_date_pushes__gte=PUSHES_BEFORE_FLAG),
    }


def reasons_expression(today: dt.date) -> Case:
    """The stall reasons of a deal row as one SQL expression (a JSON list).

    A decision tree over the extra reasons: each condition (one of them a "no planned activity"
    subquery) is evaluated once per row, and each leaf is the literal list for that combination.
    """
    conditions = list(extra_reason_conditions(today).items())

    def branch(index: int, reasons: list[str]) -> Case | Value:
        if index == len(conditions):
            return Value(reasons, output_field=JSONField())
        name, condition = conditions[index]
        return Case(
            When(condition, then=branch(index + 1, [*reasons, name])),
            default=branch(index + 1, reasons),
            output_field=JSONField(),
        )

    return cast(Case, branch(0, [IDLE]))  # three conditions: the root is a Case


def _prepare_sweep() -> None:
    """One sweep at a time (a second one waits, then finds nothing left to do), in a transaction
    tuned for its bulk writes: a first sweep may flag 70,000 deals and write as many
    notifications; should it be lost to a crash at commit, the next sweep redoes it whole."""
    serialize_on("stall-sweep")
    tune_for_bulk_writes()


def _flag(idle: Q, idle_twice: Q | None, now: dt.datetime) -> tuple[int, int]:
    """Flag newly idle deals, and bring the reasons of already flagged ones up to date.

    A new episode is recorded as told already (its notifications are written next, in the same
    transaction, found by `stalled_since == now`): one write per deal, which matters when a
    first sweep flags tens of thousands.
    """
    reasons = reasons_expression(timezone.localdate(now))
    told: Value | Case = Value(TOLD_OWNER)
    if idle_twice is not None:
        told = Case(When(idle_twice, then=Value(TOLD_MANAGERS)), default=Value(TOLD_OWNER))
    started = Deal.objects.filter(idle, stalled=False).update(
        stalled=True, stalled_since=now, stall_reasons=reasons, stall_notified=told
    )
    changed = (
        Deal.objects.filter(idle, stalled=True)
        .exclude(stalled_since=now)  # flagged a moment ago: their reasons are fresh
        .exclude(stall_reasons=reasons)
        .update(stall_reasons=reasons)
    )
    return started, changed


def _clear(idle: Q | None) -> int:
    """Deals flagged but no longer idle (or no longer watched) lose the flag."""
    flagged = Deal.objects.filter(stalled=True)
    if idle is not None:
        flagged = flagged.exclude(idle)
    return flagged.update(stalled=False, stall_reasons=[], stalled_since=None)


def _reasons_text() -> Case:
    """The stored reasons of a row as words, for the notification message."""
    extras = [NO_NEXT_STEP, CLOSE_DATE_PASSED, CLOSE_DATE_PUSHED]
    whens = []
    for flags in itertools.product((True, False), repeat=len(extras)):
        reasons = [IDLE] + [name for name, on in zip(extras, flags, strict=True) if on]
        text = ", ".join(REASON_LABELS[r] for r in reasons)
        whens.append(When(stall_reasons=reasons, then=Value(text)))
    return Case(*whens, default=Value(REASON_LABELS[IDLE]), output_field=CharField())


def _as_text(expression: Any) -> Cast:
    return Cast(expression, output_field=CharField())


def insert_notifications(rows: QuerySet[Any], **columns: Any) -> int:
    """One notification per row, computed by the database; a row whose dedupe key exists
    already is skipped. Returns how many were inserted."""
    return insert_from_select(Notification, rows, conflict_target=["dedupe_key"], **columns)


def _crowded(deals: QuerySet[Deal], recipient: str) -> QuerySet[Any]:
    """The recipients with more than BATCH_ABOVE of these deals to hear about, with their
    `deal_count`."""
    crowded: QuerySet[Any] = (
        deals.order_by()
        .values(recipient)
        .annotate(deal_count=Count("pk"))
        .filter(deal_count__gt=BATCH_ABOVE)
    )
    return crowded


def _notify(
    deals: QuerySet[Deal],
    *,
    recipient: str,
    message: Any,
    key: str,
    batch: str,
    batch_message: str,
    now: dt.datetime,
) -> int:
    """One notification per deal and recipient (`message` per deal, its dedupe key holding the
    episode), except for recipients with more than BATCH_ABOVE deals this sweep: one each, with
    the count (`batch_message` follows it). Two INSERT … SELECTs whatever the numbers."""
    crowded = _crowded(deals, recipient)
    told = insert_notifications(
        deals.exclude(**{f"{recipient}__in": crowded.values(recipient)}),
        user_id=F(recipient),
        kind=Value(Notification.Kind.STALLED.value),
        message=Left(message, 500),
        deal_id=F("pk"),
        created_at=Value(now, output_field=DateTimeField()),
        dedupe_key=Concat(
            Value(f"{key}:"),
            _as_text("pk"),
            Value(":"),
            _as_text(recipient),
            Value(":"),
            _as_text("stalled_since"),
            output_field=CharField(),
        ),
    )
    told += insert_notifications(
        crowded,
        user_id=F(recipient),
        kind=Value(Notification.Kind.STALLED.value),
        message=Concat(_as_text("deal_count"), Value(batch_message), output_field=CharField()),
        deal_id=Value(None, output_field=BigIntegerField()),
        created_at=Value(now, output_field=DateTimeField()),
        dedupe_key=Concat(
            Value(f"{batch}:"),
            _as_text(recipient),
            Value(f":{now.isoformat()}"),
            output_field=CharField(),
        ),
    )
    return told


def _notify_owners(now: dt.datetime) -> int:
    """One notification per owner per stall episode: the episodes this sweep started, and any
    flagged deal nobody has told yet."""
    new_episode = Q(stalled_since=now)
    untold = Q(stall_notified=TOLD_NOBODY)
    deals = Deal.objects.filter(new_episode | untold, stalled=True, stalled_since__isnull=False)
    told = _notify(
        deals,
        recipient="owner_id",
        message=Concat(
            Value("“"),
            F("title"),
            Value("” has stalled in "),
            F("stage__name"),
            Value(": "),
            _reasons_text(),
            Value("."),
            output_field=CharField(),
        ),
        key="stalled",
        batch=OWNER_BATCH,
        batch_message=" of your deals have stalled: no move or activity for longer than "
        "their stage allows.",
        now=now,
    )
    Deal.objects.filter(untold, stalled=True).update(stall_notified=TOLD_OWNER)
    return told


def _notify_managers(idle_twice: Q, now: dt.datetime) -> int:
    """The managers of the owner's teams, once per episode, when the deal is idle twice the
    threshold: episodes this sweep started that idle already, and flagged deals that became it
    since. (The owner is not told twice when they manage their own team.)"""
    new_episode = Q(stalled_since=now, stall_notified=TOLD_MANAGERS)
    due = Q(stall_notified=TOLD_OWNER)
    deals = (
        Deal.objects.filter(idle_twice, new_episode | due, stalled=True)
        .annotate(manager=F("owner__teams__managers"))
        .filter(manager__isnull=False)
        .exclude(manager=F("owner_id"))
    )
    told = _notify(
        deals,
        recipient="manager",
        message=Concat(
            Value("“"),
            F("title"),
            Value("” ("),
            F("owner__username"),
            Value(") has had no move or activity in "),
            F("stage__name"),
            Value(" for over "),
            _as_text(F("stage__stall_days") * MANAGER_FACTOR),
            Value(" days."),
            output_field=CharField(),
        ),
        key="stalled-manager",
        batch=MANAGER_BATCH,
        batch_message=" deals of your teams have had no move or activity for over twice "
        "their stage's stall threshold.",
        now=now,
    )
    Deal.objects.filter(idle_twice, due, stalled=True).update(stall_notified=TOLD_MANAGERS)
    return told


@transaction.atomic
def detect_stalled_deals() -> StallSweep:
    """The hourly job (and right after a stage's stall_days change). Idempotent."""
    now = timezone.now()
    _prepare_sweep()
    stages = watched_stages()
    idle = idle_condition(stages, now)
    idle_twice = idle_condition(stages, now, factor=MANAGER_FACTOR)
    started = changed = 0
    if idle is not None:
        started, changed = _flag(idle, idle_twice, now)
    cleared = _clear(idle)
    owners = _notify_owners(now)
    managers = _notify_managers(idle_twice, now) if idle_twice is not None else 0
    return StallSweep(
        started=started,
        reasons_changed=changed,
        cleared=cleared,
        owners_notified=owners,
        managers_notified=managers,
    )
