"""Reads of the deal page: the stage path (time spent in each stage) and the timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone

from accounts.models import User
from deals.models import Deal, FieldChange, Stage, StageChange
from followups.models import Activity
from pipeline_crm.ids import parse_id
from pipeline_crm.templatetags.figures import money


@dataclass
class PathStep:
    stage: Stage
    spent: dt.timedelta
    visited: bool
    is_current: bool


def stage_path(
    deal: Deal, stages: Sequence[Stage], changes: Sequence[StageChange]
) -> list[PathStep]:
    """Each stage of the pipeline with the time the deal has spent in it (all visits added)."""
    now = timezone.now()
    spent: dict[int, dt.timedelta] = {}
    ordered = sorted(changes, key=lambda c: (c.at, c.pk))
    for index, change in enumerate(ordered):
        if change.to_stage_id is None:
            continue
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        end = following.at if following else (deal.lost_at or now)
        spent[change.to_stage_id] = spent.get(change.to_stage_id, dt.timedelta()) + (
            end - change.at
        )
    if not ordered:  # a deal made without history (imports, old data): count from stage entry
        spent[deal.stage_id] = (deal.lost_at or now) - deal.stage_entered_at
    return [
        PathStep(
            stage=stage,
            spent=spent.get(stage.pk, dt.timedelta()),
            visited=stage.pk in spent,
            is_current=stage.pk == deal.stage_id,
        )
        for stage in stages
    ]


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # "stage" | "field" | "activity"
    by: Any
    item: Any
    old: str = ""
    new: str = ""


FIELD_LABELS = {
    "amount": "Amount",
    "expected_close_date": "Expected close",
    "probability_override": "Probability",
    "owner": "Owner",
    "status": "Status",
}


def _field_value(name: str, raw: str, users: dict[str, str]) -> str:
    if not raw:
        return "—"
    if name == "owner":
        return users.get(raw, f"user {raw}")
    if name == "probability_override":
        return f"{raw} %"
    if name == "amount":
        return money(raw)
    return raw


def timeline(
    deal: Deal, changes: Sequence[StageChange], *, viewer: User, limit: int = 200
) -> list[TimelineEntry]:
    """Stage moves, tracked field changes and the activities `viewer` may see, newest first."""
    fields = list(
        FieldChange.objects.filter(deal=deal).select_related("by").order_by("-at", "-id")[:limit]
    )
    owner_ids = {
        value for fc in fields if fc.field == "owner" for value in (fc.old_value, fc.new_value)
    }
    users = {
        str(u.pk): str(u) for u in User.objects.filter(pk__in=[v for v in owner_ids if parse_id(v)])
    }
    activities = list(
        Activity.objects.visible_to(viewer)
        .filter(deal=deal, done_at__isnull=False)
        .select_related("owner")
        .order_by("-done_at", "-id")[:limit]
    )
    entries = [TimelineEntry(at=c.at, kind="stage", by=c.by, item=c) for c in changes]
    entries += [
        TimelineEntry(
            at=fc.at,
            kind="field",
            by=fc.by,
            item=fc,
            old=_field_value(fc.field, fc.old_value, users),
            new=_field_value(fc.field, fc.new_value, users),
        )
        for fc in fields
    ]
    entries += [
        TimelineEntry(at=a.done_at, kind="activity", by=a.owner, item=a)
        for a in activities
        if a.done_at is not None
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def planned_activities(deal: Deal, *, viewer: User) -> list[Activity]:
    """The deal's planned activities `viewer` may see (an activity is in sight by its owner,
    like every record: one logged by another team before the deal was handed over is not)."""
    return list(
        Activity.objects.visible_to(viewer)
        .filter(deal=deal, done_at__isnull=True)
        .select_related("owner")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )
