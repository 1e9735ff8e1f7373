"""Create, edit and delete deals; an activity logged on a deal refreshes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_assignable, require_write
from contacts.models import Company, Contact, Lead
from contacts.services import company_named
from deals.events import DealChanged, DealCreated, DealDeleted
from deals.models import Deal, DeletedDeal, FieldChange, Pipeline, Stage, StageChange
from deals.services.common import (
    HistoryRow,
    check_version,
    clear_stall,
    field_change_row,
    first_open_stage,
    lock,
    missing_required,
    stage_change_row,
)
from deals.services.positions import top_position
from deals.services.trash import archive_and_delete
from pipeline_crm.errors import DomainError, MissingRequiredFields
from pipeline_crm.events import announce

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
    company: Company | str | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    next_step: str = "",
) -> Deal:
    """A new deal at the top of its column (first open stage unless given)."""
    pipeline, stage = _placement(pipeline, stage)
    owner = owner or by
    require_assignable(by, owner, what="deals")
    if isinstance(company, str):  # typed by name: found, or created in this transaction
        company = company_named(company, by=by)
    now = timezone.now()
    deal = Deal(
        title=title,
        pipeline=pipeline,
        stage=stage,
        status=stage.deal_status,
        owner=owner,
        amount=amount,
        currency=currency or Deal._meta.get_field("currency").get_default(),
        expected_close_date=expected_close_date,
        probability_override=probability_override,
        company=company,
        contact=contact,
        lead=lead,
        next_step=next_step or "",
        stage_entered_at=now,
        won_at=now if stage.deal_status == Deal.Status.WON else None,
        position=top_position(stage),
    )
    missing = missing_required(stage, deal)
    if missing:
        raise MissingRequiredFields(stage.name, missing)
    deal.save()
    StageChange.objects.create(deal=deal, **stage_change_row(None, stage, by=by, at=now))
    announce(DealCreated(deal=deal, by=by, stage_ids=(stage.pk,)))
    return deal


def _placement(pipeline: Pipeline | None, stage: Stage | None) -> tuple[Pipeline, Stage]:
    """The pipeline and stage a new deal starts in: as given, else the default pipeline and its
    first open stage."""
    pipeline = pipeline or (stage.pipeline if stage else Pipeline.default())
    if pipeline is None:
        raise DomainError("There is no pipeline yet.", field="pipeline")
    stage = stage or first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise DomainError("That stage belongs to another pipeline.", field="stage")
    return pipeline, stage


def apply_changes(deal: Deal, by: User, changes: Mapping[str, Any]) -> list[str]:
    """Set editable fields on a locked deal, recording tracked changes; returns changed names."""
    unknown = set(changes) - set(EDITABLE_DEAL_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(f"“{name}” cannot be changed here.", field=name)
    changed = []
    for name, new in changes.items():
        if name == "company" and isinstance(new, str):  # typed by name on the board
            new = company_named(new, by=by)
        if getattr(deal, name) == new:
            continue
        if name == "owner":
            require_assignable(by, new, what="deals")
        history = set_field(deal, name, new, by=by, at=timezone.now())
        if history is not None:
            FieldChange.objects.create(deal=deal, **history)
        changed.append(name)
    return changed


def set_field(
    deal: Deal, name: str, new: Any, *, by: User | None, at: dt.datetime
) -> HistoryRow | None:
    """One field of a deal changed in memory at `at`: a later close date counts as a push, and
    a tracked field returns its history row (not saved)."""
    old = getattr(deal, name)
    if name == "expected_close_date" and old and new and new > old:
        deal.close_date_pushes += 1
    setattr(deal, name, new)
    if name in FieldChange.TRACKED_FIELDS:
        return field_change_row(name, old, new, by=by, at=at)
    return None


@transaction.atomic
def update_deal(
    *, deal: Deal, by: User, changes: Mapping[str, Any], version: int | None = None
) -> Deal:
    """Edit a deal's fields (not stage or status). Tracked fields leave a history row."""
    require_write(by, deal.owner_id, "deal")
    deal = lock(deal)
    check_version(deal, version)
    previous_owner_id = deal.owner_id
    changed = apply_changes(deal, by, changes)
    if not changed:
        return deal
    if "next_step" in changed and deal.next_step and "no_next_step" in deal.stall_reasons:
        deal.stall_reasons = [r for r in deal.stall_reasons if r != "no_next_step"]
    deal.version += 1
    deal.save()
    changed_owner = previous_owner_id if "owner" in changed else None
    announce(
        DealChanged(
            deal=deal,
            by=by,
            stage_ids=(deal.stage_id,),
            fields=tuple(changed),
            previous_owner_id=changed_owner,
        )
    )
    return deal


@transaction.atomic
def delete_deal(*, deal: Deal, by: User) -> DeletedDeal:
    """Owners, their managers and admins may delete. The deal goes to the trash, with its
    history and activities, whence `trash.restore_deals` brings it back."""
    require_write(by, deal.owner_id, "deal")
    deal = lock(deal)
    require_write(by, deal.owner_id, "deal")  # the owner may have changed before the lock
    deal_id, stage_id = deal.pk, deal.stage_id
    entry = archive_and_delete(deal, by=by)
    deal.pk = deal_id  # the event carries the deal as it was, id included
    announce(DealDeleted(deal=deal, by=by, stage_ids=(stage_id,)))
    return entry


@transaction.atomic
def hand_over_open_deals(*, from_owner: User, to_owner: User, by: User) -> int:
    """Give every open deal of `from_owner` to `to_owner` (a deactivated user's pipeline), each
    through `update_deal`: owner history, the new owner's notification, open boards told.
    Won and lost deals keep their owner: they are who won or lost them."""
    deals = Deal.objects.filter(owner=from_owner, status=Deal.Status.OPEN).order_by("pk")
    moved = 0
    for deal in deals:
        update_deal(deal=deal, by=by, changes={"owner": to_owner})
        moved += 1
    return moved


@transaction.atomic
def record_activity(*, deal_id: int, at: dt.datetime) -> None:
    """Someone worked on the deal (an activity logged or done at `at`): its last activity time
    moves on and a stall flag clears at once."""
    deal = Deal.objects.select_for_update().get(pk=deal_id)
    worked_on(deal, at)
    deal.save(
        update_fields=[
            "last_activity_at",
            "stalled",
            "stall_reasons",
            "stalled_since",
            "updated_at",
        ]
    )
    fields = ("last_activity_at", "stalled")
    announce(DealChanged(deal=deal, by=None, stage_ids=(deal.stage_id,), fields=fields))


def worked_on(deal: Deal, at: dt.datetime) -> None:
    """What an activity logged or done at `at` does to its deal, in memory: the last activity
    time moves on and a stall flag clears."""
    if deal.last_activity_at is None or at > deal.last_activity_at:
        deal.last_activity_at = at
    clear_stall(deal)
