"""What the deal services share: the row lock, the version check, history rows, the stall
reset and the stage rules (required fields, the won and first stage of a pipeline)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone

from accounts.models import User
from deals.models import Deal, FieldChange, Pipeline, Stage
from pipeline_crm.errors import DomainError, StaleVersion


def lock(deal: Deal) -> Deal:
    """Re-read the deal under a row lock: concurrent writers queue here, then see the new version.

    No joins in the locking query: PostgreSQL re-checks a join against the row a concurrent
    move just changed and would drop it (DoesNotExist) instead of returning the new version.
    """
    locked: Deal = Deal.objects.select_for_update().get(pk=deal.pk)
    # Related objects the caller loaded stay valid where the row still points at them (the
    # stage a move leaves, the pipeline): no query to load them again.
    for name in ("pipeline", "stage", "owner", "company"):
        descriptor = getattr(Deal, name)
        if descriptor.is_cached(deal) and getattr(locked, f"{name}_id") == getattr(
            deal, f"{name}_id"
        ):
            descriptor.field.set_cached_value(locked, descriptor.field.get_cached_value(deal))
    return locked


def check_version(deal: Deal, version: int | None) -> None:
    if version is not None and int(version) != deal.version:
        raise StaleVersion(deal)


def as_text(value: Any) -> str:
    """A field's value as the history stores it: a record by its id."""
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


# A history row as field values by attname, without its deal: a service makes the model
# instance (`FieldChange(deal=deal, **row)`), a bulk load (seed_demo) adds `deal_id` and copies it.
HistoryRow = dict[str, Any]


def field_change_row(
    field: str, old: Any, new: Any, *, by: User | None, at: dt.datetime
) -> HistoryRow:
    """The history row of a tracked field's change (FieldChange fields)."""
    return {
        "field": field,
        "old_value": as_text(old)[:200],
        "new_value": as_text(new)[:200],
        "by_id": by.pk if by else None,
        "at": at,
    }


def stage_change_row(
    from_stage: Stage | None, to_stage: Stage, *, by: User | None, at: dt.datetime
) -> HistoryRow:
    """The history row of a deal entering `to_stage` (StageChange fields); a new deal comes
    from no stage."""
    return {
        "from_stage_id": from_stage.pk if from_stage else None,
        "to_stage_id": to_stage.pk,
        "from_stage_name": from_stage.name if from_stage else "",
        "to_stage_name": to_stage.name,
        "by_id": by.pk if by else None,
        "at": at,
    }


def field_change(deal: Deal, field: str, old: Any, new: Any, by: User | None) -> FieldChange:
    """A history row for a tracked field (not saved)."""
    return FieldChange(deal=deal, **field_change_row(field, old, new, by=by, at=timezone.now()))


def record_field_change(deal: Deal, field: str, old: Any, new: Any, by: User | None) -> None:
    field_change(deal, field, old, new, by).save()


def clear_stall(deal: Deal) -> None:
    deal.stalled = False
    deal.stall_reasons = []
    deal.stalled_since = None


def missing_required(stage: Stage, deal: Deal) -> list[str]:
    """The fields `stage` requires that the deal lacks."""
    missing = []
    for name in stage.required_fields or []:
        value = getattr(deal, f"{name}_id" if name in ("company", "contact") else name, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
    return missing


def won_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=Stage.Kind.WON).order_by("order").first()
    if stage is None:
        raise DomainError(f"Pipeline “{pipeline.name}” has no won stage.", field="stage")
    return stage


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order").first()
    stage = stage or pipeline.stages.order_by("order").first()
    if stage is None:
        raise DomainError(f"Pipeline “{pipeline.name}” has no stages.", field="pipeline")
    return stage
