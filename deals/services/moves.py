"""A deal's way through the pipeline: moves between and within columns, won, lost, reopen.

Entering a stage is one rule (`enter_stage`) for a single move and for many deals at once (a
deleted stage's deals): a history row each, the status the stage gives, the stall cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_write
from deals.events import DealLost, DealMoved, DealReopened, DealWon
from deals.models import Deal, FieldChange, LostReason, Stage, StageChange
from deals.services.common import (
    HistoryRow,
    check_version,
    clear_stall,
    field_change_row,
    lock,
    missing_required,
    record_field_change,
    stage_change_row,
    won_stage,
)
from deals.services.editing import apply_changes
from deals.services.lost_reasons import pick_lost_reason
from deals.services.positions import place
from pipeline_crm.crash_points import crash_point
from pipeline_crm.errors import DomainError, InvalidTransition, MissingRequiredFields
from pipeline_crm.events import announce


def enter_stage(
    deals: Sequence[Deal], stage: Stage, *, by: User | None, positions: Sequence[int]
) -> None:
    """Put `deals` into `stage` at these sort keys: one StageChange each, the status the stage
    gives (a lost deal stays lost) with its history row, the stall cleared, the version moved
    on. The callers save the deals: one `save()`, or one bulk update for many."""
    now = timezone.now()
    moves: list[StageChange] = []
    status_changes: list[FieldChange] = []
    for deal, position in zip(deals, positions, strict=True):
        move, status_change = put_in_stage(deal, stage, by=by, at=now, position=position)
        moves.append(StageChange(deal=deal, **move))
        if status_change is not None:
            status_changes.append(FieldChange(deal=deal, **status_change))
    StageChange.objects.bulk_create(moves)
    FieldChange.objects.bulk_create(status_changes)


def put_in_stage(
    deal: Deal, stage: Stage, *, by: User | None, at: dt.datetime, position: int
) -> tuple[HistoryRow, HistoryRow | None]:
    """`enter_stage` for one deal, in memory, at time `at`. Returns its history rows: the
    StageChange's, and the FieldChange's when the stage gives the deal another status."""
    move = stage_change_row(deal.stage, stage, by=by, at=at)
    status_change = None
    status = deal.status if deal.status == Deal.Status.LOST else stage.deal_status
    if status != deal.status:
        status_change = field_change_row("status", deal.status, status, by=by, at=at)
        deal.status = status
        deal.won_at = at if status == Deal.Status.WON else None
    deal.stage = stage
    deal.position = position
    deal.stage_entered_at = at
    clear_stall(deal)
    deal.version += 1
    return move, status_change


@transaction.atomic
def move_deal(
    *,
    deal: Deal,
    by: User,
    stage: Stage,
    version: int,
    after_id: int | None = None,
    before_id: int | None = None,
    values: Mapping[str, Any] | None = None,
) -> Deal:
    """Move a deal to `stage`, or to another place in its column: right below the card
    `after_id` or right above the card `before_id` (a card `by` can see in that column); with
    neither, on top of a column it enters and where it was in its own (see `place`).

    `values` fills fields the target stage requires in the same transaction (the board's
    "this stage needs…" form). Entering a won or post-sale stage marks the deal won; leaving
    them for an open stage makes it open again. A stale `version` raises `StaleVersion`.
    """
    require_write(by, deal.owner_id, "deal")
    deal = lock(deal)
    check_version(deal, version)
    if deal.status == Deal.Status.LOST:
        raise InvalidTransition("This deal is lost: reopen it before moving it.", field="stage")
    if stage.pipeline_id != deal.pipeline_id:
        raise DomainError("That stage belongs to another pipeline.", field="stage")
    if values:
        apply_changes(deal, by, values)
    from_stage_id, was_won = deal.stage_id, deal.status == Deal.Status.WON
    if stage.pk != deal.stage_id:
        missing = missing_required(stage, deal)
        if missing:
            raise MissingRequiredFields(stage.name, missing)
    position = place(deal, stage, viewer=by, after_id=after_id, before_id=before_id)
    if stage.pk == deal.stage_id:
        deal.position = position
        deal.version += 1
    else:
        enter_stage([deal], stage, by=by, positions=[position])
    crash_point("deals.move.entered")  # a fault test cuts the connection here (tests/faults)
    deal.save()
    event = DealWon if deal.status == Deal.Status.WON and not was_won else DealMoved
    stage_ids = tuple(dict.fromkeys((from_stage_id, stage.pk)))
    announce(event(deal=deal, by=by, stage_ids=stage_ids, from_stage_id=from_stage_id))
    return deal


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
    require_write(by, deal.owner_id, "deal")
    deal = lock(deal)
    check_version(deal, version)
    if deal.status != Deal.Status.OPEN:
        raise InvalidTransition(f"Only an open deal can be won; this one is {deal.status}.")
    if amount is not None:
        apply_changes(deal, by, {"amount": amount})
    if values:
        apply_changes(deal, by, values)
    stage = won_stage(deal.pipeline)
    missing = missing_required(stage, deal)
    if deal.amount is None:
        missing = ["amount", *[name for name in missing if name != "amount"]]
        raise MissingRequiredFields("Won", missing)
    if missing:
        raise MissingRequiredFields(stage.name, missing)
    from_stage_id = deal.stage_id
    position = place(deal, stage, viewer=by)
    enter_stage([deal], stage, by=by, positions=[position])
    deal.save()
    stage_ids = (from_stage_id, stage.pk)
    announce(DealWon(deal=deal, by=by, stage_ids=stage_ids, from_stage_id=from_stage_id))
    return deal


@transaction.atomic
def mark_lost(
    *,
    deal: Deal,
    by: User,
    reason: int | LostReason | None,
    detail: str = "",
    version: int | None = None,
) -> Deal:
    """Lose the deal in the stage it is in, so "where do we lose deals" has an answer: for an
    active reason of the admins' list (`reason`, its id), with free text (`detail`) when that
    reason allows other."""
    require_write(by, deal.owner_id, "deal")
    entry, detail = pick_lost_reason(reason=reason, detail=detail)
    deal = lock(deal)
    check_version(deal, version)
    if deal.status == Deal.Status.LOST:
        raise InvalidTransition("This deal is already lost.")
    at = timezone.now()
    FieldChange.objects.create(deal=deal, **lose(deal, by=by, reason=entry, detail=detail, at=at))
    deal.save()
    announce(DealLost(deal=deal, by=by, stage_ids=(deal.stage_id,)))
    return deal


def lose(
    deal: Deal, *, by: User | None, reason: LostReason, detail: str = "", at: dt.datetime
) -> HistoryRow:
    """`mark_lost` for one deal, in memory, at time `at`: lost in the stage it is in, with the
    reason. Returns the status change's history row."""
    status_change = field_change_row("status", deal.status, Deal.Status.LOST, by=by, at=at)
    deal.status = Deal.Status.LOST
    deal.lost_at = at
    deal.won_at = None
    deal.lost_reason = reason
    deal.lost_reason_detail = detail[:300]
    clear_stall(deal)
    deal.version += 1
    return status_change


@transaction.atomic
def reopen_deal(*, deal: Deal, by: User, version: int | None = None) -> Deal:
    """Make a lost deal open again, in the stage it was lost in."""
    require_write(by, deal.owner_id, "deal")
    deal = lock(deal)
    check_version(deal, version)
    if deal.status != Deal.Status.LOST:
        raise InvalidTransition("Only a lost deal can be reopened.")
    now = timezone.now()
    new_status = deal.stage.deal_status
    record_field_change(deal, "status", deal.status, new_status, by)
    deal.status = new_status
    deal.lost_at = None
    deal.lost_reason = None
    deal.lost_reason_detail = ""
    deal.won_at = now if new_status == Deal.Status.WON else None
    deal.last_activity_at = now
    deal.version += 1
    deal.save()
    announce(DealReopened(deal=deal, by=by, stage_ids=(deal.stage_id,)))
    return deal
