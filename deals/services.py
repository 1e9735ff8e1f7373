"""The only code that changes the pipeline (SPEC §3). Every function is one transaction.

HTML views, API views, imports and Celery tasks call these and turn `deals.errors` into messages.
Callers fetch records through `visible_to(user)` first (404 outside sight); the services then
check write permission themselves (403), so no caller can forget it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from accounts.visibility import can_assign_to, can_write_owned_by, is_admin
from contacts.models import Company, Contact, Lead
from deals.errors import (
    DomainError,
    InvalidTransition,
    MissingRequiredFields,
    NotAllowed,
    StaleVersion,
)
from deals.models import (
    Activity,
    ColumnTotal,
    Deal,
    FieldChange,
    Notification,
    Pipeline,
    Stage,
    StageChange,
)
from deals.selectors import COLUMN_SUMS, column_sums

POSITION_GAP = 1024

# Fields a caller may change with `update_deal` (stage and status move only through the
# dedicated services; version and timestamps are the system's).
EDITABLE_DEAL_FIELDS = (
    "title",
    "amount",
    "currency",
    "expected_close_date",
    "probability_override",
    "owner",
    "company",
    "contact",
    "lead",
    "next_step",
)


# --- helpers ----------------------------------------------------------------------------------


def _require_write(user: User, owner_id: int | None, what: str = "deal") -> None:
    if not can_write_owned_by(user, owner_id):
        raise NotAllowed(f"You may view this {what} but not change it.")


def _lock(deal: Deal) -> Deal:
    """Re-read the deal under a row lock: concurrent writers queue here, then see the new version.

    No joins in the locking query: PostgreSQL re-checks a join against the row a concurrent
    move just changed and would drop it (DoesNotExist) instead of returning the new version.
    """
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    # Related objects the caller loaded stay valid where the row still points at them (the
    # stage a move leaves, the pipeline): no query to load them again.
    for name in ("pipeline", "stage", "owner", "company"):
        descriptor = getattr(Deal, name)
        if descriptor.is_cached(deal) and getattr(locked, f"{name}_id") == getattr(
            deal, f"{name}_id"
        ):
            descriptor.field.set_cached_value(locked, descriptor.field.get_cached_value(deal))
    return locked


def _check_version(deal: Deal, version: int | None) -> None:
    if version is not None and int(version) != deal.version:
        raise StaleVersion(deal)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Deal | Company | Contact | Lead | User):
        return str(value.pk)
    return str(value)


def _record_field_change(deal: Deal, field: str, old: Any, new: Any, by: User | None) -> None:
    FieldChange.objects.create(
        deal=deal,
        field=field,
        old_value=_as_text(old)[:200],
        new_value=_as_text(new)[:200],
        by=by,
        at=timezone.now(),
    )


def _clear_stall(deal: Deal) -> None:
    deal.stalled = False
    deal.stall_reasons = []
    deal.stalled_since = None


def _missing_required(stage: Stage, deal: Deal) -> list[str]:
    missing = []
    for name in stage.required_fields or []:
        value = getattr(deal, f"{name}_id" if name in ("company", "contact") else name, None)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
    return missing


def _won_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=Stage.Kind.WON).order_by("order").first()
    if stage is None:
        raise DomainError(f"Pipeline “{pipeline.name}” has no won stage.", field="stage")
    return stage


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order").first()
    stage = stage or pipeline.stages.order_by("order").first()
    if stage is None:
        raise DomainError(f"Pipeline “{pipeline.name}” has no stages.", field="pipeline")
    return stage


def _column_edge(stage: Stage, *, top: bool) -> int | None:
    """The smallest (top) or largest sort key of a column, or None when it is empty.

    One probe of `deal_column_idx` (stage, status, position) per status: a MIN/MAX over the
    stage alone would read every deal of the column, which a 100,000-deal board cannot afford
    on each move. Written as SQL: composing the same three probes through the ORM took longer
    than the database takes to answer them, on every move.
    """
    table = connection.ops.quote_name(Deal._meta.db_table)
    direction, edge = ("ASC", "MIN") if top else ("DESC", "MAX")
    probe = (
        f"SELECT (SELECT position FROM {table} WHERE stage_id = %s AND status = %s "
        f"ORDER BY position {direction} LIMIT 1) AS edge"
    )
    statuses = Deal.Status.values
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {edge}(edge) FROM ({' UNION ALL '.join([probe] * len(statuses))}) AS edges",
            [value for status in statuses for value in (stage.pk, status)],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _top_position(stage: Stage) -> int:
    lowest = _column_edge(stage, top=True)
    return 0 if lowest is None else lowest - POSITION_GAP


def _bottom_position(stage: Stage) -> int:
    highest = _column_edge(stage, top=False)
    return 0 if highest is None else highest + POSITION_GAP


def _renumber_column(stage: Stage) -> None:
    """Spread a column's sort keys out again when two neighbours have no gap left (rare)."""
    ids = list(
        Deal.objects.filter(stage=stage).order_by("position", "id").values_list("pk", flat=True)
    )
    rows = [Deal(pk=pk, position=(i + 1) * POSITION_GAP) for i, pk in enumerate(ids)]
    Deal.objects.bulk_update(rows, ["position"], batch_size=1000)


def _position_at_index(stage: Stage, index: int, *, viewer: User, moving: Deal) -> int:
    """A sort key that puts `moving` at `index` of the column as `viewer` sees it (0 = top)."""
    index = max(0, int(index))
    column = (
        Deal.objects.visible_to(viewer)
        .filter(stage=stage)
        .exclude(status=Deal.Status.LOST)
        .exclude(pk=moving.pk)
        .order_by("position", "id")
    )
    if index == 0:  # above every card of the column, seen or not: one index probe
        return _top_position(stage)
    for _attempt in range(2):
        neighbours = list(column.values_list("position", flat=True)[index - 1 : index + 1])
        if not neighbours:
            return _bottom_position(stage)
        if len(neighbours) == 1:
            return neighbours[0] + POSITION_GAP
        before, after = neighbours
        if after - before > 1:
            return before + (after - before) // 2
        _renumber_column(stage)
    return _bottom_position(stage)


def _resolve_position(stage: Stage, position: int | None, *, viewer: User, moving: Deal) -> int:
    if position is None:
        return _top_position(stage) if moving.stage_id != stage.pk else moving.position
    return _position_at_index(stage, position, viewer=viewer, moving=moving)


def _notify(user_id: int, *, kind: str, message: str, dedupe_key: str, deal: Deal | None) -> bool:
    """Create a notification once per dedupe key; True when it is new."""
    _, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"user_id": user_id, "kind": kind, "message": message[:500], "deal": deal},
    )
    return created


# --- deals --------------------------------------------------------------------------------------


def check_owner_assignable(by: User, owner: User, *, what: str = "deals") -> None:
    """The owner a caller picks must be someone whose records the caller may write."""
    if not can_assign_to(by, owner):
        raise DomainError(f"You cannot assign {what} to this user.", field="owner")


@transaction.atomic
def create_deal(
    *,
    by: User,
    title: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    owner: User | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    expected_close_date: dt.date | None = None,
    probability_override: int | None = None,
    company: Company | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    next_step: str = "",
) -> Deal:
    """A new open deal at the top of its column (first open stage unless given)."""
    pipeline = pipeline or (stage.pipeline if stage else Pipeline.default())
    if pipeline is None:
        raise DomainError("There is no pipeline yet.", field="pipeline")
    stage = stage or _first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise DomainError("That stage belongs to another pipeline.", field="stage")
    owner = owner or by
    check_owner_assignable(by, owner)
    now = timezone.now()
    deal = Deal(
        title=title,
        pipeline=pipeline,
        stage=stage,
        status=Deal.Status.WON if stage.kind != Stage.Kind.OPEN else Deal.Status.OPEN,
        owner=owner,
        amount=amount,
        expected_close_date=expected_close_date,
        probability_override=probability_override,
        company=company,
        contact=contact,
        lead=lead,
        next_step=next_step or "",
        stage_entered_at=now,
        won_at=now if stage.kind != Stage.Kind.OPEN else None,
        position=_top_position(stage),
    )
    if currency:
        deal.currency = currency
    missing = _missing_required(stage, deal)
    if missing:
        raise MissingRequiredFields(stage.name, missing)
    deal.save()
    StageChange.objects.create(
        deal=deal, from_stage=None, to_stage=stage, to_stage_name=stage.name, by=by, at=now
    )
    if owner.pk != by.pk:
        _notify_assignment(deal, by)
    return deal


def _notify_assignment(deal: Deal, by: User) -> None:
    _notify(
        deal.owner_id,
        kind=Notification.Kind.ASSIGNED,
        message=f"{by} assigned you “{deal.title}”.",
        dedupe_key=f"assigned:{deal.pk}:{deal.owner_id}:{deal.version}",
        deal=deal,
    )


def _apply_changes(deal: Deal, by: User, changes: Mapping[str, Any]) -> list[str]:
    """Set editable fields on a locked deal, recording tracked changes; returns changed names."""
    unknown = set(changes) - set(EDITABLE_DEAL_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(f"“{name}” cannot be changed here.", field=name)
    changed = []
    for name, new in changes.items():
        old = getattr(deal, name)
        if old == new:
            continue
        if name == "owner":
            check_owner_assignable(by, new)
        if name == "expected_close_date" and old and new and new > old:
            deal.close_date_pushes += 1
        if name in FieldChange.TRACKED_FIELDS:
            _record_field_change(deal, name, old, new, by)
        setattr(deal, name, new)
        changed.append(name)
    return changed


@transaction.atomic
def update_deal(
    *, deal: Deal, by: User, changes: Mapping[str, Any], version: int | None = None
) -> Deal:
    """Edit a deal's fields (not stage or status). Tracked fields leave a history row."""
    _require_write(by, deal.owner_id)
    deal = _lock(deal)
    _check_version(deal, version)
    changed = _apply_changes(deal, by, changes)
    if not changed:
        return deal
    if "next_step" in changed and deal.next_step and "no_next_step" in deal.stall_reasons:
        deal.stall_reasons = [r for r in deal.stall_reasons if r != "no_next_step"]
    deal.version += 1
    deal.save()
    if "owner" in changed:
        _notify_assignment(deal, by)
    return deal


@transaction.atomic
def move_deal(
    *,
    deal: Deal,
    by: User,
    stage: Stage,
    version: int,
    position: int | None = None,
    values: Mapping[str, Any] | None = None,
) -> Deal:
    """Move a deal to `stage` (or to another place in its column), at index `position`.

    `values` fills fields the target stage requires in the same transaction (the board's
    "this stage needs…" form). Entering a won or post-sale stage marks the deal won; leaving
    them for an open stage makes it open again. A stale `version` raises `StaleVersion`.
    """
    _require_write(by, deal.owner_id)
    deal = _lock(deal)
    _check_version(deal, version)
    if deal.status == Deal.Status.LOST:
        raise InvalidTransition("This deal is lost: reopen it before moving it.", field="stage")
    if stage.pipeline_id != deal.pipeline_id:
        raise DomainError("That stage belongs to another pipeline.", field="stage")
    if values:
        _apply_changes(deal, by, values)
    if stage.pk == deal.stage_id:
        deal.position = _resolve_position(stage, position, viewer=by, moving=deal)
        deal.version += 1
        deal.save()
        return deal
    missing = _missing_required(stage, deal)
    if missing:
        raise MissingRequiredFields(stage.name, missing)
    _enter_stage(deal, stage, by, position=position)
    return deal


def _enter_stage(deal: Deal, stage: Stage, by: User, *, position: int | None) -> None:
    now = timezone.now()
    from_stage = deal.stage
    deal.position = _resolve_position(stage, position, viewer=by, moving=deal)
    StageChange.objects.create(
        deal=deal,
        from_stage=from_stage,
        to_stage=stage,
        from_stage_name=from_stage.name,
        to_stage_name=stage.name,
        by=by,
        at=now,
    )
    new_status = Deal.Status.OPEN if stage.kind == Stage.Kind.OPEN else Deal.Status.WON
    if new_status != deal.status:
        _record_field_change(deal, "status", deal.status, new_status, by)
        deal.status = new_status
        deal.won_at = now if new_status == Deal.Status.WON else None
    deal.stage = stage
    deal.stage_entered_at = now
    _clear_stall(deal)
    deal.version += 1
    deal.save()


@transaction.atomic
def reorder_deal(*, deal: Deal, by: User, version: int, position: int) -> Deal:
    """Place a deal at index `position` of its own column."""
    return move_deal(deal=deal, by=by, stage=deal.stage, version=version, position=position)


@transaction.atomic
def mark_won(
    *,
    deal: Deal,
    by: User,
    version: int | None = None,
    amount: Decimal | None = None,
    values: Mapping[str, Any] | None = None,
) -> Deal:
    """Move the deal into its pipeline's won stage. A deal without an amount needs one.

    `values` fills other fields the won stage requires, in the same transaction (the board's
    "this stage needs…" form); every missing field is reported at once.
    """
    _require_write(by, deal.owner_id)
    deal = _lock(deal)
    _check_version(deal, version)
    if deal.status != Deal.Status.OPEN:
        raise InvalidTransition(f"Only an open deal can be won; this one is {deal.status}.")
    if amount is not None:
        _apply_changes(deal, by, {"amount": amount})
    if values:
        _apply_changes(deal, by, values)
    stage = _won_stage(deal.pipeline)
    missing = _missing_required(stage, deal)
    if deal.amount is None:
        missing = ["amount", *[name for name in missing if name != "amount"]]
        raise MissingRequiredFields("Won", missing)
    if missing:
        raise MissingRequiredFields(stage.name, missing)
    _enter_stage(deal, stage, by, position=None)
    return deal


@transaction.atomic
def mark_lost(*, deal: Deal, by: User, reason: str, version: int | None = None) -> Deal:
    """Lose the deal in the stage it is in, so "where do we lose deals" has an answer."""
    _require_write(by, deal.owner_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the deal was lost.", field="reason")
    deal = _lock(deal)
    _check_version(deal, version)
    if deal.status == Deal.Status.LOST:
        raise InvalidTransition("This deal is already lost.")
    now = timezone.now()
    _record_field_change(deal, "status", deal.status, Deal.Status.LOST, by)
    deal.status = Deal.Status.LOST
    deal.lost_at = now
    deal.won_at = None
    deal.lost_reason = reason[:300]
    _clear_stall(deal)
    deal.version += 1
    deal.save()
    return deal


@transaction.atomic
def reopen_deal(*, deal: Deal, by: User, version: int | None = None) -> Deal:
    """Make a lost deal open again, in the stage it was lost in."""
    _require_write(by, deal.owner_id)
    deal = _lock(deal)
    _check_version(deal, version)
    if deal.status != Deal.Status.LOST:
        raise InvalidTransition("Only a lost deal can be reopened.")
    new_status = Deal.Status.OPEN if deal.stage.kind == Stage.Kind.OPEN else Deal.Status.WON
    _record_field_change(deal, "status", deal.status, new_status, by)
    deal.status = new_status
    deal.lost_at = None
    deal.lost_reason = ""
    deal.won_at = timezone.now() if new_status == Deal.Status.WON else None
    deal.last_activity_at = timezone.now()
    deal.version += 1
    deal.save()
    return deal


@transaction.atomic
def delete_deal(*, deal: Deal, by: User) -> None:
    """Owners, their managers and admins may delete."""
    _require_write(by, deal.owner_id)
    deal.delete()


# --- activities -------------------------------------------------------------------------------


def _touch_deal(deal_id: int, at: dt.datetime) -> None:
    """An activity on a deal refreshes its last_activity_at and clears a stall at once."""
    deal = Deal.objects.select_for_update().get(pk=deal_id)
    if deal.last_activity_at is None or at > deal.last_activity_at:
        deal.last_activity_at = at
    _clear_stall(deal)
    deal.save(
        update_fields=[
            "last_activity_at",
            "stalled",
            "stall_reasons",
            "stalled_since",
            "updated_at",
        ]
    )


@transaction.atomic
def log_activity(
    *,
    by: User,
    kind: str,
    subject: str,
    body: str = "",
    deal: Deal | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    company: Company | None = None,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    done: bool = False,
    owner: User | None = None,
) -> Activity:
    """Plan (due/remind) or log (done) a call, e-mail, meeting, task or note."""
    if not (subject or "").strip():
        raise DomainError("Give the activity a subject.", field="subject")
    if deal is not None:
        _require_write(by, deal.owner_id)
    if lead is not None:
        _require_write(by, lead.owner_id, "lead")
    owner = owner or by
    if owner.pk != by.pk:
        check_owner_assignable(by, owner)
    now = timezone.now()
    activity = Activity.objects.create(
        kind=kind,
        subject=subject.strip(),
        body=body or "",
        deal=deal,
        contact=contact,
        lead=lead,
        company=company,
        due_at=due_at,
        remind_at=remind_at,
        done_at=now if done or kind == Activity.Kind.NOTE else None,
        owner=owner,
    )
    if deal is not None:
        _touch_deal(deal.pk, now)
    return activity


@transaction.atomic
def complete_activity(*, activity: Activity, by: User) -> Activity:
    """Mark a planned activity done; its reminder will not fire."""
    _require_write(by, activity.owner_id, "activity")
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.done_at is None:
        activity.done_at = timezone.now()
        activity.save(update_fields=["done_at"])
    if activity.deal_id:
        _touch_deal(activity.deal_id, activity.done_at)
    return activity


@transaction.atomic
def update_activity(*, activity: Activity, by: User, changes: Mapping[str, Any]) -> Activity:
    """Edit, reschedule or hand over an activity. A new remind time arms the reminder again;
    a new owner (someone whose records the caller may write) gets the reminder when it fires."""
    _require_write(by, activity.owner_id, "activity")
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    allowed = {"kind", "subject", "body", "due_at", "remind_at", "owner"}
    for name, value in changes.items():
        if name not in allowed:
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        if name == "remind_at" and value != activity.remind_at:
            activity.reminded_at = None
        if name == "owner" and value.pk != activity.owner_id:
            check_owner_assignable(by, value, what="activities")
        setattr(activity, name, value)
    activity.save()
    return activity


@transaction.atomic
def delete_activity(*, activity: Activity, by: User) -> None:
    _require_write(by, activity.owner_id, "activity")
    activity.delete()


# --- pipelines and stages (admins only) ---------------------------------------------------------


def _require_admin(by: User) -> None:
    if not is_admin(by):
        raise NotAllowed("Only admins configure pipelines and stages.")


def _validate_required_fields(fields: Iterable[str]) -> list[str]:
    fields = list(fields or [])
    unknown = [f for f in fields if f not in Stage.REQUIRABLE_FIELDS]
    if unknown:
        allowed = ", ".join(Stage.REQUIRABLE_FIELDS)
        raise DomainError(
            f"Unknown deal field(s): {', '.join(unknown)}. Choose from {allowed}.",
            field="required_fields",
        )
    return fields


@transaction.atomic
def create_pipeline(*, by: User, name: str, is_default: bool = False) -> Pipeline:
    _require_admin(by)
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    return Pipeline.objects.create(name=name, is_default=is_default)


@transaction.atomic
def update_pipeline(*, pipeline: Pipeline, by: User, changes: Mapping[str, Any]) -> Pipeline:
    """Rename a pipeline or make it the default (the previous default stops being one)."""
    _require_admin(by)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    for name, value in changes.items():
        if name not in ("name", "is_default"):
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        setattr(pipeline, name, value)
    if changes.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    pipeline.save()
    return pipeline


@transaction.atomic
def delete_pipeline(*, pipeline: Pipeline, by: User) -> None:
    """Delete an empty pipeline with its stages; one holding deals stays (no orphans)."""
    _require_admin(by)
    held = Deal.objects.filter(pipeline=pipeline).count()
    if held:
        raise DomainError(
            f"“{pipeline.name}” holds {held} deal(s): move or delete them first.", field="detail"
        )
    pipeline.delete()


@transaction.atomic
def create_stage(
    *,
    by: User,
    pipeline: Pipeline,
    name: str,
    kind: str = Stage.Kind.OPEN,
    probability: int = 10,
    stall_days: int | None = None,
    required_fields: Iterable[str] = (),
    guidance: str = "",
    is_commit: bool = False,
    order: int | None = None,
) -> Stage:
    """Add a stage at the end (or at `order`, shifting the later ones down)."""
    _require_admin(by)
    last = pipeline.stages.aggregate(m=Max("order"))["m"] or 0
    stage = Stage.objects.create(
        pipeline=pipeline,
        name=name,
        order=last + 1,
        kind=kind,
        probability=probability,
        stall_days=stall_days,
        required_fields=_validate_required_fields(required_fields),
        guidance=guidance,
        is_commit=is_commit,
    )
    if order is not None and order <= last:
        ids = list(
            pipeline.stages.exclude(pk=stage.pk).order_by("order").values_list("pk", flat=True)
        )
        ids.insert(max(order - 1, 0), stage.pk)
        _write_stage_order(pipeline, ids)
        stage.refresh_from_db()
    return stage


@transaction.atomic
def update_stage(*, stage: Stage, by: User, changes: Mapping[str, Any]) -> Stage:
    """Rename or reconfigure a stage; a change of stall days re-checks stalls right after."""
    _require_admin(by)
    allowed = {
        "name",
        "kind",
        "probability",
        "stall_days",
        "required_fields",
        "guidance",
        "is_commit",
    }
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    stall_days_changed = False
    for name, value in changes.items():
        if name not in allowed:
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        if name == "required_fields":
            value = _validate_required_fields(value)
        if name == "stall_days" and value != stage.stall_days:
            stall_days_changed = True
        setattr(stage, name, value)
    stage.save()
    if stall_days_changed:
        _queue_stall_check(stage.pk)
    return stage


def _queue_stall_check(stage_id: int) -> None:
    """Stall thresholds changed: re-check stalls right after this transaction commits."""
    from deals.tasks import detect_stalled_deals

    detect_stalled_deals.delay_on_commit()


def _write_stage_order(pipeline: Pipeline, stage_ids: list[int]) -> None:
    # Two passes keep the unique (pipeline, order) constraint true after every statement.
    offset = 1_000_000
    for i, pk in enumerate(stage_ids, start=1):
        Stage.objects.filter(pk=pk, pipeline=pipeline).update(order=offset + i)
    for i, pk in enumerate(stage_ids, start=1):
        Stage.objects.filter(pk=pk, pipeline=pipeline).update(order=i)


@transaction.atomic
def reorder_stages(*, pipeline: Pipeline, by: User, stage_ids: list[int]) -> list[Stage]:
    """Put the pipeline's stages in the given order (every stage exactly once)."""
    _require_admin(by)
    current = set(pipeline.stages.values_list("pk", flat=True))
    if set(stage_ids) != current or len(stage_ids) != len(current):
        raise DomainError("List every stage of the pipeline exactly once.", field="stage_ids")
    _write_stage_order(pipeline, [int(pk) for pk in stage_ids])
    return list(pipeline.stages.order_by("order"))


@transaction.atomic
def delete_stage(*, stage: Stage, by: User, destination: Stage | None = None) -> int:
    """Delete a stage; its deals first move to `destination`. No deal is ever orphaned.

    Returns how many deals moved.
    """
    _require_admin(by)
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    deals = list(Deal.objects.select_for_update().filter(stage=stage).order_by("position", "id"))
    if deals:
        if destination is None:
            raise DomainError(
                f"“{stage.name}” holds {len(deals)} deal(s): choose a stage to move them to.",
                field="destination",
            )
        if destination.pk == stage.pk or destination.pipeline_id != stage.pipeline_id:
            raise DomainError("Choose another stage of the same pipeline.", field="destination")
        _move_all(deals, stage, destination, by)
    remaining = list(
        stage.pipeline.stages.exclude(pk=stage.pk).order_by("order").values_list("pk", flat=True)
    )
    pipeline = stage.pipeline
    stage.delete()
    _write_stage_order(pipeline, remaining)
    return len(deals)


def _move_all(deals: list[Deal], stage: Stage, destination: Stage, by: User) -> None:
    now = timezone.now()
    start = _bottom_position(destination)
    status = Deal.Status.OPEN if destination.kind == Stage.Kind.OPEN else Deal.Status.WON
    history = []
    for i, deal in enumerate(deals):
        history.append(
            StageChange(
                deal=deal,
                from_stage=stage,
                to_stage=destination,
                from_stage_name=stage.name,
                to_stage_name=destination.name,
                by=by,
                at=now,
            )
        )
        deal.stage = destination
        deal.position = start + i * POSITION_GAP
        deal.stage_entered_at = now
        deal.version += 1
        if deal.status != Deal.Status.LOST and deal.status != status:
            deal.status = status
            deal.won_at = now if status == Deal.Status.WON else None
    StageChange.objects.bulk_create(history)
    Deal.objects.bulk_update(
        deals,
        ["stage", "position", "stage_entered_at", "version", "status", "won_at"],
        batch_size=500,
    )


# --- notifications ------------------------------------------------------------------------------


@transaction.atomic
def mark_notification_read(*, notification: Notification, by: User) -> Notification:
    if notification.user_id != by.pk:
        raise NotAllowed("That notification is not yours.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_notifications_read(*, by: User) -> int:
    return Notification.objects.visible_to(by).unread().update(read_at=timezone.now())


# --- running column totals ----------------------------------------------------------------------


@transaction.atomic
def rebuild_column_totals() -> int:
    """Sum the board's running column totals afresh from the deals; returns how many rows.

    PostgreSQL's triggers keep them right through every write; this repairs them after anything
    that bypassed the triggers (a restore with triggers disabled, a trigger dropped by hand).
    The deal table is locked against writes meanwhile, so no change slips between the two.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Deal._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
    ColumnTotal.objects.all().delete()
    sums = (
        Deal.objects.order_by()
        .values("stage_id", "status", "owner_id")
        .annotate(**column_sums())
        .values_list("stage_id", "status", "owner_id", *COLUMN_SUMS)
    )
    # Sums over no amount at all are NULL; the totals are 0 then.
    rows = [
        ColumnTotal(
            stage_id=stage_id,
            status=status,
            owner_id=owner_id,
            deals=n,
            amount_sum=amount or Decimal(0),
            amount_without_override=without_override or Decimal(0),
            override_weighted=override_weighted or Decimal(0),
        )
        for stage_id, status, owner_id, n, amount, without_override, override_weighted in sums
    ]
    ColumnTotal.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
