"""The trash: a deleted deal is archived before it goes, and can be restored as it was.

Why an archive and not a "deleted" flag: with a flag, every query that reads deals (the board,
its running column totals kept by triggers, the forecast, the analytics, the API, imports,
search, webhooks) would have to leave flagged deals out, and one that forgot would count a
deleted deal. Here the live tables never hold a deleted deal; the trash (`DeletedDeal`) keeps
its rows serialized: the deal, its stage and field history, its activities, and whatever else
the delete removed with it (found by Django's deletion collector, so a table added later that
points at deals is archived too), plus the rows that only lost their link to it.

A restore inserts those rows again with their ids (the running column totals' triggers count
the deal back in), links the unlinked rows again, and announces `DealRestored`: the card is
back in its column on every open board.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers.base import DeserializedObject
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, router, transaction
from django.db.models.deletion import Collector, ProtectedError
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_write
from deals.events import DealRestored
from deals.models import Deal, DeletedDeal, Pipeline, Stage
from deals.services.common import first_open_stage
from deals.services.totals import lock_column_totals
from pipeline_crm.errors import DomainError
from pipeline_crm.events import announce

# How long deleted deals stay in the trash before the nightly purge (settings.DEAL_TRASH_DAYS).
DEFAULT_TRASH_DAYS = 30


def trash_days() -> int:
    return max(1, int(getattr(settings, "DEAL_TRASH_DAYS", DEFAULT_TRASH_DAYS)))


def archive_and_delete(deal: Deal, *, by: User) -> DeletedDeal:
    """Put the deal and everything its delete removes into the trash, then delete them.

    The caller checks the permission and holds the deal's row lock (`editing.delete_deal`).
    """
    collector = Collector(using=router.db_for_write(Deal), origin=deal, force_collection=True)
    try:
        collector.collect([deal])
    except ProtectedError as exc:
        raise DomainError(f"“{deal}” cannot be deleted: other records depend on it.") from exc
    rows = _serialized([deal])
    for instances in collector.data.values():
        others = sorted((i for i in instances if i is not deal), key=lambda i: i.pk)
        rows.extend(_serialized(others))
    unlinked: dict[str, list[Any]] = defaultdict(list)
    for (field, _value), batches in collector.field_updates.items():
        for batch in batches:  # a queryset or a list of instances
            rows_unlinked = cast("Iterable[models.Model]", batch)
            unlinked[f"{field.model._meta.label_lower}.{field.name}"] += [
                o.pk for o in rows_unlinked
            ]
    entry = DeletedDeal.objects.create(
        deal_id=deal.pk,
        title=deal.title,
        pipeline_id=deal.pipeline_id,
        stage_name=deal.stage.name,
        amount=deal.amount,
        currency=deal.currency,
        owner_id=deal.owner_id,
        deleted_by=by,
        deleted_at=timezone.now(),
        rows=rows,
        unlinked=dict(unlinked),
    )
    collector.delete()
    return entry


class _ExactEncoder(DjangoJSONEncoder):
    """Times with their microseconds (DjangoJSONEncoder keeps milliseconds): a restored deal
    must sort and measure its time in stage exactly as before."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


def _serialized(instances: Sequence[models.Model]) -> list[dict[str, Any]]:
    if not instances:
        return []
    rows: list[dict[str, Any]] = json.loads(
        serializers.serialize("json", instances, cls=_ExactEncoder)
    )
    return rows


@transaction.atomic
def restore_deals(*, entries: Sequence[DeletedDeal], by: User) -> list[Deal]:
    """Bring deals back from the trash, all or none: owners, their managers and admins may."""
    restored = []
    locked = DeletedDeal.objects.select_for_update().filter(pk__in=[e.pk for e in entries])
    found = list(locked.order_by("pk"))
    if len(found) != len(entries):
        raise DomainError("Some of these deals were restored or purged meanwhile.")
    deal_fields = [(entry.rows or [{}])[0].get("fields", {}) for entry in found]
    lock_column_totals(
        owner_ids=[f["owner"] for f in deal_fields if isinstance(f.get("owner"), int)],
        stage_ids=[f["stage"] for f in deal_fields if isinstance(f.get("stage"), int)],
    )
    for entry in found:
        require_write(by, entry.owner_id, "deal")
        try:
            with transaction.atomic():
                restored.append(_restore(entry, by=by))
        except IntegrityError as exc:  # a row taken meanwhile (a unique value used again)
            raise DomainError(
                f"“{entry.title}” cannot be restored: some of its records clash with ones "
                "made since it was deleted."
            ) from exc
    for deal in restored:
        announce(DealRestored(deal=deal, by=by, stage_ids=(deal.stage_id,)))
    return restored


def _restore(entry: DeletedDeal, *, by: User) -> Deal:
    objects = list(
        serializers.deserialize("python", _known_rows(entry.rows), ignorenonexistent=True)
    )
    if not objects or not isinstance(objects[0].object, Deal):
        raise DomainError(f"“{entry.title}” cannot be restored: its archive is damaged.")
    deal: Deal = objects[0].object
    kept = _without_dangling_links(objects, deal=deal, by=by)
    for item in kept:
        item.save()
    for key, pks in (entry.unlinked or {}).items():
        label, _, field = key.rpartition(".")
        model = _model(label)
        if model is not None and pks:
            model._base_manager.filter(pk__in=pks, **{f"{field}__isnull": True}).update(
                **{field: deal.pk}
            )
    entry.delete()
    return deal


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _known_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of models that still exist (a table dropped since leaves its rows behind)."""
    return [row for row in rows if _model(str(row.get("model", ""))) is not None]


def _without_dangling_links(
    objects: list[DeserializedObject], *, deal: Deal, by: User
) -> list[DeserializedObject]:
    """The rows whose links still lead somewhere: a link to a record deleted since is cleared
    when it may be empty, else the row stays in the trash. The deal itself goes back to its
    stage (or its pipeline's first stage, if that stage was deleted) and to its owner (or to
    whoever restores it, if that user was deleted)."""
    restoring = {(type(o.object), o.object.pk) for o in objects}
    missing = _missing_targets(objects, restoring)
    kept = []
    for item in objects:
        obj = item.object
        keep = True
        for field in _links(obj):
            target = (field.related_model, getattr(obj, field.attname))
            if target not in missing:
                continue
            if obj is deal and field.name in ("stage", "owner"):
                _replace_deal_link(deal, field.name, by)
            elif field.null:
                setattr(obj, field.attname, None)
            else:
                keep = False
        if obj is deal and not keep:
            raise DomainError(f"“{deal}” cannot be restored: its pipeline no longer exists.")
        if keep:
            kept.append(item)
    return kept


def _replace_deal_link(deal: Deal, name: str, by: User) -> None:
    if name == "owner":
        deal.owner = by
        return
    pipeline = Pipeline.objects.filter(pk=deal.pipeline_id).first()
    if pipeline is None:
        raise DomainError(f"“{deal}” cannot be restored: its pipeline no longer exists.")
    stage: Stage = first_open_stage(pipeline)
    deal.stage = stage
    deal.status = stage.deal_status if deal.status != Deal.Status.LOST else deal.status


def _links(obj: models.Model) -> list[models.ForeignKey[Any, Any]]:
    return [
        field
        for field in obj._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and getattr(obj, field.attname) is not None
    ]


def _missing_targets(
    objects: list[DeserializedObject], restoring: set[tuple[Any, Any]]
) -> set[tuple[Any, Any]]:
    """(model, pk) of every record the rows link to that exists neither in the database nor
    among the rows restored: one query per model linked to."""
    wanted: dict[Any, set[Any]] = defaultdict(set)
    for item in objects:
        for field in _links(item.object):
            target = (field.related_model, getattr(item.object, field.attname))
            if target not in restoring:
                wanted[field.related_model].add(target[1])
    missing = set()
    for model, pks in wanted.items():
        present = set(model._base_manager.filter(pk__in=pks).values_list("pk", flat=True))
        missing |= {(model, pk) for pk in pks - present}
    return missing


@transaction.atomic
def purge_trash(*, now: dt.datetime | None = None) -> int:
    """Drop what has been in the trash longer than `trash_days()`; returns how many. Run
    nightly by beat (`deals.tasks.purge_deal_trash`); running it twice changes nothing."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=trash_days())
    purged, _ = DeletedDeal.objects.filter(deleted_at__lt=cutoff).delete()
    return purged
