"""Merging duplicate companies, contacts and leads (SPEC §9 Merge). One transaction each.

`merge_contacts(survivor=…, other=…, by=…)` (and `merge_companies`, `merge_leads`) keeps the
survivor: every record that points at `other` (deals, activities, a company's contacts: found by
walking the model's reverse foreign keys, so a relation added later moves too) is pointed at the
survivor, the survivor's empty fields take `other`'s values, `other` is deleted, and the merge is
written on the survivor as a note (the timeline shows it) and announced as
`contacts.events.RecordsMerged` (the audit log and the import notes listen).

Race-safe: both rows are locked in primary-key order before anything is read or written, so two
merges touching the same records run one after the other; the second finds `other` gone and
answers 404 (`RecordGone`), never half a merge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.db import models, transaction

from accounts.models import User
from accounts.visibility import require_write
from contacts.events import RecordsMerged
from contacts.models import Company, Contact, Lead
from contacts.services import refresh_lead_score
from followups.models import Activity
from followups.services import log_activity
from pipeline_crm.errors import DomainError
from pipeline_crm.events import announce

type Mergeable = Company | Contact | Lead


class RecordGone(DomainError):
    """404: the record to merge no longer exists (merged or deleted meanwhile)."""

    http_status = 404
    code = "not_found"


@dataclass(frozen=True)
class MergeResult:
    survivor: Mergeable
    moved: dict[str, int]  # "deals" → how many moved to the survivor
    filled: tuple[str, ...]  # the survivor's fields that took the other's value


# Fields the survivor takes from the other when its own is empty. Never the owner, never ids.
FILLED: dict[type[models.Model], tuple[str, ...]] = {
    Company: ("domain", "industry", "size"),
    Contact: ("last_name", "email", "phone", "title", "company"),
    Lead: (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "need",
        "budget",
        "timeline",
        "converted_at",
    ),
}
# Unique fields (ignoring case): emptied on the other before the survivor takes them.
UNIQUE_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Company: ("domain",),
    Contact: ("email",),
}


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def _lock_both[M: (Company, Contact, Lead)](model: type[M], survivor_pk: int, other_pk: int) -> M:
    """Lock both rows in primary-key order (no deadlock between two merges of the same pair);
    the other read back as it is now, or RecordGone."""
    name = model._meta.verbose_name
    if survivor_pk == other_pk:
        raise DomainError(f"A {name} cannot be merged with itself.", field="other")
    locked = {
        record.pk: record
        for record in model._base_manager.select_for_update()
        .filter(pk__in=sorted((survivor_pk, other_pk)))
        .order_by("pk")
    }
    if survivor_pk not in locked:
        raise RecordGone(f"This {name} no longer exists.")
    if other_pk not in locked:
        raise RecordGone(
            f"The {name} to merge no longer exists (merged or deleted).", field="other"
        )
    return locked[other_pk]


def _move_related(
    model: type[models.Model], survivor: Mergeable, other: Mergeable
) -> dict[str, int]:
    """Point every row that refers to `other` at `survivor`, relation by relation."""
    moved: dict[str, int] = {}
    for relation in model._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one) or relation.field.model is model:
            continue
        rows = relation.related_model._base_manager.filter(**{relation.field.name: other.pk})
        count = rows.update(**{relation.field.name: survivor.pk})
        name = str(relation.related_model._meta.verbose_name_plural)
        moved[name] = moved.get(name, 0) + count
    return moved


def _fill_empty(model: type[models.Model], survivor: Mergeable, other: Mergeable) -> list[str]:
    filled = []
    for name in FILLED[model]:
        column = cast("models.Field[Any, Any]", model._meta.get_field(name)).attname
        if _is_empty(getattr(survivor, column)) and not _is_empty(getattr(other, column)):
            setattr(survivor, column, getattr(other, column))
            filled.append(name)
    if isinstance(survivor, Lead) and isinstance(other, Lead):
        survivor.authority = survivor.authority or other.authority
    return filled


def _subject(kind: str, other: Mergeable, moved: dict[str, int]) -> str:
    parts = [f"{count} {name}" for name, count in moved.items() if count]
    what = ", ".join(parts) if parts else "nothing linked"
    return f"Merged {kind} “{other}” (#{other.pk}) into this one: moved {what}."[:200]


def _merge[M: (Company, Contact, Lead)](
    model: type[M], *, survivor: M, other: M, by: User, kind: str
) -> MergeResult:
    require_write(by, survivor.owner_id, kind)
    require_write(by, other.owner_id, kind)
    other = _lock_both(model, survivor.pk, other.pk)
    survivor = model._base_manager.get(pk=survivor.pk)
    # Check again on the rows as they are now (an owner may have changed meanwhile).
    require_write(by, survivor.owner_id, kind)
    require_write(by, other.owner_id, kind)
    moved = _move_related(model, survivor, other)
    filled = _fill_empty(model, survivor, other)
    label = str(other)
    taken = [name for name in UNIQUE_FIELDS.get(model, ()) if name in filled]
    if taken:  # free the unique values before the survivor takes them
        model._base_manager.filter(pk=other.pk).update(**dict.fromkeys(taken, ""))
    other_pk = other.pk
    other.delete()
    other.pk = other_pk
    survivor.save()
    if isinstance(survivor, Lead):
        refresh_lead_score(lead=survivor)
    _record(kind, survivor=survivor, other=other, label=label, moved=moved, filled=filled, by=by)
    return MergeResult(survivor=survivor, moved=moved, filled=tuple(filled))


def _record(
    kind: str,
    *,
    survivor: Mergeable,
    other: Mergeable,
    label: str,
    moved: dict[str, int],
    filled: list[str],
    by: User,
) -> None:
    """The merge on the survivor's timeline (a note) and announced for the audit log."""
    body = "Fields taken from it: " + (", ".join(filled) or "none") + "."
    log_activity(
        by=by,
        owner=by,
        kind=Activity.Kind.NOTE,
        subject=_subject(kind, other, moved),
        body=body,
        done=True,
        **cast(dict[str, Any], {kind: survivor}),
    )
    announce(
        RecordsMerged(
            kind=kind,
            kept_id=survivor.pk,
            kept_label=str(survivor),
            merged={other.pk: label},
            by=by,
        )
    )


@transaction.atomic
def merge_contacts(*, survivor: Contact, other: Contact, by: User) -> MergeResult:
    return _merge(Contact, survivor=survivor, other=other, by=by, kind="contact")


@transaction.atomic
def merge_companies(*, survivor: Company, other: Company, by: User) -> MergeResult:
    return _merge(Company, survivor=survivor, other=other, by=by, kind="company")


@transaction.atomic
def merge_leads(*, survivor: Lead, other: Lead, by: User) -> MergeResult:
    return _merge(Lead, survivor=survivor, other=other, by=by, kind="lead")


MERGERS: dict[str, Callable[..., MergeResult]] = {
    "contact": merge_contacts,
    "company": merge_companies,
    "lead": merge_leads,
}
