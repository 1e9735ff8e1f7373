"""Pipelines and their stages, configured by admins (SPEC §2, §4). One transaction each.

Every change tells open boards of the pipeline to reload (`PipelineChanged`): a stage renamed,
added, reordered or deleted changes the columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from accounts.models import User
from accounts.visibility import require_admin
from deals.events import PipelineChanged
from deals.models import Deal, Pipeline, Stage
from deals.services.moves import enter_stage
from deals.services.positions import column_edge, positions_below
from pipeline_crm.db import is_postgresql
from pipeline_crm.errors import DomainError
from pipeline_crm.events import announce

STAGE_SETTINGS = (
    "name",
    "kind",
    "probability",
    "stall_days",
    "required_fields",
    "guidance",
    "is_commit",
)


ADMINS_ONLY = "Only admins configure pipelines and stages."


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


def _changed(pipeline: Pipeline, by: User, deal_ids: Iterable[int] = ()) -> None:
    announce(PipelineChanged(pipeline_id=pipeline.pk, by=by, deal_ids=tuple(deal_ids)))


@transaction.atomic
def create_pipeline(
    *, by: User, name: str, is_default: bool = False, copy_stages_from: Pipeline | None = None
) -> Pipeline:
    """A new pipeline, empty or with a copy of another pipeline's stages."""
    require_admin(by, ADMINS_ONLY)
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline = Pipeline.objects.create(name=name, is_default=is_default)
    if copy_stages_from is not None:
        for place, stage in enumerate(copy_stages_from.stages.order_by("order"), start=1):
            settings = {name: getattr(stage, name) for name in STAGE_SETTINGS}
            create_stage(by=by, pipeline=pipeline, order=place, **settings)
    return pipeline


@transaction.atomic
def update_pipeline(*, pipeline: Pipeline, by: User, changes: Mapping[str, Any]) -> Pipeline:
    """Rename a pipeline or make it the default (the previous default stops being one)."""
    require_admin(by, ADMINS_ONLY)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    for name, value in changes.items():
        if name not in ("name", "is_default"):
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        setattr(pipeline, name, value)
    if changes.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    pipeline.save()
    _changed(pipeline, by)
    return pipeline


@transaction.atomic
def delete_pipeline(*, pipeline: Pipeline, by: User) -> None:
    """Delete an empty pipeline with its stages; one holding deals stays (no orphans)."""
    require_admin(by, ADMINS_ONLY)
    held = Deal.objects.filter(pipeline=pipeline).count()
    if held:
        raise DomainError(
            f"“{pipeline.name}” holds {held} deal(s): move or delete them first.", field="detail"
        )
    _changed(pipeline, by)
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
    """Add a stage at `order` (1 the first, shifting the later ones down). Without `order`, an
    open stage goes before the first closed one (won, post-sale), where deals are still being
    worked; a closed stage, or an open one in a pipeline with no closed stage, at the end."""
    require_admin(by, ADMINS_ONLY)
    last = pipeline.stages.aggregate(m=Max("order"))["m"] or 0
    if order is None and kind == Stage.Kind.OPEN:
        order = _first_closed_place(pipeline)
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
        _place_stage(stage, order, new=True)
    _changed(pipeline, by)
    return stage


def _first_closed_place(pipeline: Pipeline) -> int | None:
    """The place (1 the first) of the pipeline's first won or post-sale stage, if any."""
    kinds = list(pipeline.stages.order_by("order").values_list("kind", flat=True))
    closed = [place for place, kind in enumerate(kinds, start=1) if kind != Stage.Kind.OPEN]
    return closed[0] if closed else None


@transaction.atomic
def update_stage(*, stage: Stage, by: User, changes: Mapping[str, Any]) -> Stage:
    """Rename, reconfigure or move a stage (`order`: its place, 1 the first). A change of stall
    days re-checks stalls right after."""
    require_admin(by, ADMINS_ONLY)
    stage = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    stall_days_changed = False
    for name, value in changes.items():
        if name not in (*STAGE_SETTINGS, "order"):
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        if name == "required_fields":
            value = _validate_required_fields(value)
        if name == "stall_days" and value != stage.stall_days:
            stall_days_changed = True
        if name != "order":
            setattr(stage, name, value)
    stage.save()
    if changes.get("order") is not None and changes["order"] != stage.order:
        _place_stage(stage, int(changes["order"]))
    if stall_days_changed:
        _queue_stall_check()
    _changed(stage.pipeline, by)
    return stage


def _queue_stall_check() -> None:
    """Stall thresholds changed: re-check stalls right after this transaction commits."""
    from deals.tasks import detect_stalled_deals  # the task module imports the services

    detect_stalled_deals.delay_on_commit()


def _place_stage(stage: Stage, order: int, *, new: bool = False) -> None:
    """Put `stage` at place `order` (1 the first; past the end: the last), the others shifting.
    A `new` stage has no history yet: placing it changes no move's "advanced"."""
    ids = list(
        stage.pipeline.stages.exclude(pk=stage.pk).order_by("order").values_list("pk", flat=True)
    )
    ids.insert(min(max(order, 1), len(ids) + 1) - 1, stage.pk)
    _write_stage_order(stage.pipeline, ids, history=not new)
    stage.refresh_from_db(fields=["order"])


def _write_stage_order(pipeline: Pipeline, stage_ids: list[int], *, history: bool = True) -> None:
    """Number the stages 1… in this order. When that changes the order of stages with
    `history`, the moves into them learn again whether their deal went further."""
    before = list(pipeline.stages.order_by("order").values_list("pk", flat=True))
    # Two passes keep the unique (pipeline, order) constraint true after every statement.
    offset = 1_000_000
    for i, pk in enumerate(stage_ids, start=1):
        Stage.objects.filter(pk=pk, pipeline=pipeline).update(order=offset + i)
    for i, pk in enumerate(stage_ids, start=1):
        Stage.objects.filter(pk=pk, pipeline=pipeline).update(order=i)
    if history and [pk for pk in before if pk in stage_ids] != stage_ids:
        refresh_stay_ends(pipeline=pipeline)


def refresh_stay_ends(*, pipeline: Pipeline) -> None:
    """The moves into `pipeline`'s stages learn again when their stay ended and whether their
    deal later reached a later stage (StageChange.left_at, advanced, entered_before; PostgreSQL
    keeps them, migration deals 0015; SQLite does not), and its deals when they last advanced or
    slipped (Deal.advanced_at, slipped_*_at, migration deals 0018). After a reorder of stages,
    and after a bulk load that ran without the triggers (`demo.bulk_load`)."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT deals_stay_ends_refresh_pipeline(%s)", [pipeline.pk])
            cursor.execute("SELECT deals_moves_refresh_pipeline(%s)", [pipeline.pk])


@transaction.atomic
def reorder_stages(*, pipeline: Pipeline, by: User, stage_ids: list[int]) -> list[Stage]:
    """Put the pipeline's stages in the given order (every stage exactly once)."""
    require_admin(by, ADMINS_ONLY)
    current = set(pipeline.stages.values_list("pk", flat=True))
    if set(stage_ids) != current or len(stage_ids) != len(current):
        raise DomainError("List every stage of the pipeline exactly once.", field="stage_ids")
    _write_stage_order(pipeline, [int(pk) for pk in stage_ids])
    _changed(pipeline, by)
    return list(pipeline.stages.order_by("order"))


@transaction.atomic
def shift_stage(*, stage: Stage, by: User, up: bool) -> bool:
    """Move a stage one place up or down (the keyboard way to reorder); False at either end."""
    require_admin(by, ADMINS_ONLY)
    target = stage.order - 1 if up else stage.order + 1
    last = stage.pipeline.stages.aggregate(m=Max("order"))["m"] or 0
    if not 1 <= target <= last:
        return False
    _place_stage(stage, target)
    _changed(stage.pipeline, by)
    return True


@transaction.atomic
def delete_stage(*, stage: Stage, by: User, destination: Stage | None = None) -> int:
    """Delete a stage; its deals first move to `destination`. No deal is ever orphaned.

    Returns how many deals moved.
    """
    require_admin(by, ADMINS_ONLY)
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
        _move_all(deals, destination, by)
    pipeline = stage.pipeline
    remaining = list(
        pipeline.stages.exclude(pk=stage.pk).order_by("order").values_list("pk", flat=True)
    )
    stage.delete()
    _write_stage_order(pipeline, remaining)
    _changed(pipeline, by, deal_ids=[deal.pk for deal in deals])
    return len(deals)


def _move_all(deals: list[Deal], destination: Stage, by: User) -> None:
    """Every deal into `destination`, below the deals already there, in their order."""
    positions = positions_below(column_edge(destination, top=False), len(deals))
    enter_stage(deals, destination, by=by, positions=positions)
    Deal.objects.bulk_update(
        deals,
        [
            "stage",
            "position",
            "stage_entered_at",
            "version",
            "status",
            "won_at",
            "stalled",
            "stall_reasons",
            "stalled_since",
        ],
        batch_size=500,
    )
