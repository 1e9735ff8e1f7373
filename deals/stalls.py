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

The sweep is a handful of UPDATE statements over the whole table (one per combination of
reasons), never a Python loop over deals; the thresholds come from the few stages, so each
statement compares plain columns. A move or an activity clears the flag at once in
`deals.services`; the sweep clears deals that stopped being idle some other way (e.g. a stage's
stall_days was raised). Owners are notified once per stall episode (the notification's dedupe
key holds `stalled_since`); the team managers once the deal has been idle twice the threshold.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Team
from deals.models import Activity, Deal, Notification, Stage

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
MANAGER_FACTOR = 2
# Any constant: PostgreSQL advisory lock that lets one sweep run at a time.
SWEEP_LOCK_ID = 4_170_001


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
    """Stages with a threshold; won stages are never watched (the deal is done there)."""
    watched_status = {Stage.Kind.OPEN: Deal.Status.OPEN, Stage.Kind.POST_SALE: Deal.Status.WON}
    rows = Stage.objects.filter(stall_days__isnull=False, kind__in=list(watched_status))
    return [
        WatchedStage(pk=pk, stall_days=days, status=watched_status[Stage.Kind(kind)])
        for pk, days, kind in rows.values_list("pk", "stall_days", "kind")
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
        NO_NEXT_STEP: Q(next_step="") & ~Exists(planned),
        CLOSE_DATE_PASSED: Q(status=Deal.Status.OPEN, expected_close_date__lt=today),
        CLOSE_DATE_PUSHED: Q(status=Deal.Status.OPEN, close_date_pushes__gte=PUSHES_BEFORE_FLAG),
    }


def _reason_combinations(today: dt.date) -> list[tuple[Q, list[str]]]:
    """Every combination of extra reasons: the condition selecting it and the reasons list."""
    extras = extra_reason_conditions(today)
    combinations = []
    for flags in itertools.product((True, False), repeat=len(extras)):
        parts = [q if on else ~q for q, on in zip(extras.values(), flags, strict=True)]
        reasons = [IDLE] + [name for name, on in zip(extras, flags, strict=True) if on]
        combinations.append((reduce(and_, parts), reasons))
    return combinations


def _one_sweep_at_a_time() -> None:
    """Two sweeps at once would only repeat work; the second waits and then finds none left."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SWEEP_LOCK_ID])


def _flag(idle: Q, now: dt.datetime) -> tuple[int, int]:
    """Flag newly idle deals and bring the reasons of flagged ones up to date.

    Two UPDATEs per combination of reasons: PostgreSQL plans each as one pass with a hashed
    anti-join for "no planned activity", where a CASE would probe it row by row.
    """
    started = changed = 0
    for condition, reasons in _reason_combinations(timezone.localdate(now)):
        started += Deal.objects.filter(idle, condition, stalled=False).update(
            stalled=True, stalled_since=now, stall_reasons=reasons
        )
        changed += (
            Deal.objects.filter(idle, condition, stalled=True)
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


def _reason_text(reasons: list[str]) -> str:
    return ", ".join(REASON_LABELS.get(r, r) for r in reasons)


def _notify_owners() -> int:
    """One notification per owner per stall episode."""
    told = Notification.objects.filter(
        deal_id=OuterRef("pk"),
        user_id=OuterRef("owner_id"),
        kind=Notification.Kind.STALLED,
        created_at__gte=OuterRef("stalled_since"),
    )
    rows = (
        Deal.objects.filter(stalled=True, stalled_since__isnull=False)
        .exclude(Exists(told))
        .values_list("pk", "owner_id", "title", "stage__name", "stalled_since", "stall_reasons")
    )
    notifications = [
        Notification(
            user_id=owner_id,
            kind=Notification.Kind.STALLED,
            message=f"“{title}” has stalled in {stage}: {_reason_text(reasons)}."[:500],
            deal_id=pk,
            dedupe_key=f"stalled:{pk}:{owner_id}:{since.isoformat()}",
        )
        for pk, owner_id, title, stage, since, reasons in rows.iterator(chunk_size=2000)
    ]
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    return len(notifications)


def _managers_by_member(member_ids: set[int]) -> dict[int, set[int]]:
    """user id → ids of the managers of the teams that user belongs to."""
    memberships = Team.members.through.objects.filter(user_id__in=member_ids)
    teams_of: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id in memberships.values_list("user_id", "team_id"):
        teams_of[user_id].add(team_id)
    team_ids = set().union(*teams_of.values()) if teams_of else set()
    managers_of_team: dict[int, set[int]] = defaultdict(set)
    for team_id, manager_id in Team.managers.through.objects.filter(
        team_id__in=team_ids
    ).values_list("team_id", "user_id"):
        managers_of_team[team_id].add(manager_id)
    return {
        user_id: set().union(*(managers_of_team[t] for t in teams)) - {user_id}
        for user_id, teams in teams_of.items()
    }


def _notify_managers(idle_twice: Q) -> int:
    """The owner's team managers, once per episode, when the deal is idle twice the threshold."""
    told = Notification.objects.filter(
        deal_id=OuterRef("pk"),
        kind=Notification.Kind.STALLED,
        created_at__gte=OuterRef("stalled_since"),
    ).exclude(user_id=OuterRef("owner_id"))
    rows = list(
        Deal.objects.filter(idle_twice, stalled=True, stalled_since__isnull=False)
        .exclude(Exists(told))
        .values_list(
            "pk",
            "owner_id",
            "owner__username",
            "title",
            "stage__name",
            "stage__stall_days",
            "stalled_since",
        )
    )
    managers = _managers_by_member({row[1] for row in rows})
    notifications = [
        Notification(
            user_id=manager_id,
            kind=Notification.Kind.STALLED,
            message=(
                f"“{title}” ({owner}) has had no move or activity in {stage} for over "
                f"{MANAGER_FACTOR * days} days."
            )[:500],
            deal_id=pk,
            dedupe_key=f"stalled-manager:{pk}:{manager_id}:{since.isoformat()}",
        )
        for pk, owner_id, owner, title, stage, days, since in rows
        for manager_id in sorted(managers.get(owner_id, ()))
    ]
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)
    return len(notifications)


@transaction.atomic
def detect_stalled_deals() -> StallSweep:
    """The hourly job (and right after a stage's stall_days change). Idempotent."""
    now = timezone.now()
    _one_sweep_at_a_time()
    stages = watched_stages()
    idle = idle_condition(stages, now)
    started = changed = 0
    if idle is not None:
        started, changed = _flag(idle, now)
    cleared = _clear(idle)
    owners = _notify_owners()
    idle_twice = idle_condition(stages, now, factor=MANAGER_FACTOR)
    managers = _notify_managers(idle_twice) if idle_twice is not None else 0
    return StallSweep(
        started=started,
        reasons_changed=changed,
        cleared=cleared,
        owners_notified=owners,
        managers_notified=managers,
    )
