"""Undoing an import: exactly the records it created go, the fields it updated come back.

Nothing is undone when any of them changed since (409 naming them): a deal whose version moved
on (edited, moved, won…) or with an activity logged since (undoing would delete it too), a
company, contact or lead whose fields differ from what the import wrote, or a company or contact
the import created that records added since now use.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.deletion import get_candidate_relations_to_delete

from accounts.models import User
from contacts.models import Lead
from contacts.scoring import current_rules
from contacts.services import score_lead
from deals.models import Deal
from imports.models import Import, ImportedRecord
from imports.writing import MODELS, jsonable
from pipeline_crm.errors import DomainError

CHUNK = 2000
NAMED = 20  # records named in a 409
# Deleted children first: deals use contacts and companies, contacts use companies.
DELETE_ORDER = ("deal", "contact", "lead", "company")


class ChangedSince(DomainError):
    """409: records the import wrote were changed since; `records` names them."""

    http_status = 409
    code = "changed_since"

    def __init__(self, records: list[dict[str, Any]], total: int) -> None:
        names = ", ".join(f"{r['type']} “{r['name']}”" for r in records[:5])
        more = f" and {total - 5} more" if total > 5 else ""
        counted = "1 record was" if total == 1 else f"{total:,} records were"
        super().__init__(f"{counted} changed since the import ({names}{more}); nothing was undone.")
        self.records = records
        self.total = total

    def as_payload(self) -> dict[str, Any]:
        return {**super().as_payload(), "records": self.records, "changed": self.total}


def _noted(batch: Import, model: str, action: str) -> Iterator[list[tuple[int, Any, Any]]]:
    notes = ImportedRecord.objects.filter(batch=batch, model=model, action=action).order_by("pk")
    rows = notes.values_list("object_id", "written", "previous").iterator(chunk_size=CHUNK)
    for chunk in itertools.batched(rows, CHUNK):
        yield list(chunk)


def _differs(record: models.Model, written: dict[str, Any]) -> bool:
    return any(jsonable(getattr(record, name)) != value for name, value in written.items())


def _changed(batch: Import) -> tuple[list[dict[str, Any]], int]:
    named: list[dict[str, Any]] = []
    total = 0
    for pk, title in _deals_changed(batch):
        total += 1
        if len(named) < NAMED:
            named.append({"type": "deal", "id": pk, "name": title})
    for model_name, model in MODELS.items():
        if model is Deal:
            continue
        for action in ImportedRecord.Action.values:
            for chunk in _noted(batch, model_name, action):
                current = model._default_manager.in_bulk([pk for pk, _, _ in chunk])
                for pk, written, _ in chunk:
                    record = current.get(pk)
                    if record is not None and _differs(record, written):
                        total += 1
                        if len(named) < NAMED:
                            named.append({"type": model_name, "id": pk, "name": str(record)})
    for model_name, pk, name in _used_since(batch):
        total += 1
        if len(named) < NAMED:
            named.append({"type": model_name, "id": pk, "name": name})
    return named, total


def _deals_changed(batch: Import) -> Iterator[tuple[int, str]]:
    """Deals the import created that moved on since: edited, moved, won or lost (their version
    counts every change) or worked on (an activity logged)."""
    created = ImportedRecord.objects.filter(batch=batch, model="deal", action="created")
    deals = Deal.objects.filter(pk__in=created.values("object_id"))
    changed = deals.filter(Q(version__gt=1) | Q(last_activity_at__isnull=False))
    yield from changed.order_by("pk").values_list("pk", "title").iterator(chunk_size=CHUNK)


def _used_since(batch: Import) -> Iterator[tuple[str, int, str]]:
    """Companies, contacts and leads the import created that other records now point at
    (a deal or contact added since, an activity logged on them): undoing would take those
    links, or the activities, with them."""
    names = {model: name for name, model in MODELS.items()}
    for model_name in ("company", "contact", "lead"):
        model = MODELS[model_name]
        for relation in get_candidate_relations_to_delete(model._meta):
            related = relation.related_model
            if not isinstance(relation, models.ManyToOneRel) or not isinstance(related, type):
                continue
            pointing = related._base_manager.filter(
                **{f"{relation.field.name}__in": _created_ids(batch, model_name)}
            )
            if related in names:  # records this import created itself go with it
                pointing = pointing.exclude(pk__in=_created_ids(batch, names[related]))
            ids = pointing.values_list(relation.field.attname, flat=True).distinct()[:NAMED]
            what = str(related._meta.verbose_name)
            what = f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"
            for pk, record in model._default_manager.in_bulk(list(ids)).items():
                yield model_name, pk, f"{record} (now used by {what})"


def undo_records(batch: Import, by: User) -> set[int]:
    """Undo everything `batch` did; returns the pipelines whose deals it removed."""
    named, total = _changed(batch)
    if total:
        raise ChangedSince(named, total)
    for model_name, model in MODELS.items():
        for chunk in _noted(batch, model_name, ImportedRecord.Action.UPDATED):
            _restore(model, chunk)
    created = _created_ids(batch, "deal")
    pipeline_ids = set(
        Deal.objects.filter(pk__in=created).values_list("pipeline_id", flat=True).distinct()
    )
    for model_name in DELETE_ORDER:
        _delete(MODELS[model_name], _created_ids(batch, model_name))
    return pipeline_ids


def _created_ids(batch: Import, model: str) -> models.QuerySet[ImportedRecord, Any]:
    notes = ImportedRecord.objects.filter(batch=batch, model=model, action="created")
    return notes.values("object_id")


def _delete(model: type[models.Model], ids: models.QuerySet[Any, Any]) -> None:
    """Delete the rows of `model` the subquery `ids` selects, with what Django's deletion would
    do to the rows pointing at them (cascade, set null), in a few statements over the subquery.

    `QuerySet.delete()` would first load every record (100,000 deals) to list their ids, then
    delete their history in batches of those ids: most of an undo's time.
    """
    for relation in get_candidate_relations_to_delete(model._meta):  # as Django's deletion
        if not isinstance(relation, models.ManyToOneRel):
            continue
        pointing = relation.related_model._base_manager.filter(
            **{f"{relation.field.name}__in": ids}
        )
        if relation.on_delete is models.CASCADE:
            pointing.delete()  # one statement where nothing points at those in turn
        elif relation.on_delete is models.SET_NULL:
            pointing.update(**{relation.field.name: None})
        # PROTECT / RESTRICT: the delete below is refused by the database (a 400).
    model._base_manager.filter(pk__in=ids)._raw_delete(using="default")


def _restore(model: type[models.Model], chunk: list[tuple[int, Any, Any]]) -> None:
    current = model._default_manager.in_bulk([pk for pk, _, _ in chunk])
    rules = current_rules()
    names: set[str] = set()
    for pk, _, previous in chunk:
        record = current.get(pk)
        if record is None:
            continue
        for name, value in (previous or {}).items():
            field = model._meta.get_field(name.removesuffix("_id"))
            if isinstance(field, models.Field):
                value = field.to_python(value)
            setattr(record, name, value)
            names.add(name)
        if isinstance(record, Lead):
            record.score, record.score_breakdown = score_lead(record, rules=rules)
            names |= {"score", "score_breakdown"}
    if names:
        model._default_manager.bulk_update(list(current.values()), sorted(names), batch_size=1000)
