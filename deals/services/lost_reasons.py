"""The admin-kept list of lost reasons (SPEC §9), and the one rule for picking one.

Admins add, rename, deactivate and reorder entries; entries are never deleted (lost deals point
at them). `pick_lost_reason` is the rule every way of losing a deal goes through (the board, the
deal page, the API, the deals list's bulk action): an active entry of the list, and free text
only with an entry that allows it ("Other"), where the text is required.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import User
from accounts.visibility import require_admin
from deals.models import LostReason
from pipeline_crm.errors import DomainError

LOST_REASON_SETTINGS = ("name", "active", "allows_other", "order")


ADMINS_ONLY = "Only admins keep the list of lost reasons."


def pick_lost_reason(
    *, reason: int | LostReason | None, detail: str = ""
) -> tuple[LostReason, str]:
    """The entry and free text a deal is lost with, or a DomainError saying what is missing."""
    if reason is None:
        raise DomainError("Say why the deal was lost.", field="lost_reason")
    pk = reason.pk if isinstance(reason, LostReason) else reason
    found = LostReason.objects.filter(pk=pk).first()
    if found is None or not found.active:
        raise DomainError("Pick one of the reasons on the list.", field="lost_reason")
    detail = (detail or "").strip()
    if found.allows_other and not detail:
        raise DomainError(f"Say what “{found.name}” was.", field="lost_reason_detail")
    if detail and not found.allows_other:
        raise DomainError(
            f"“{found.name}” takes no text: pick an entry that allows other.",
            field="lost_reason_detail",
        )
    return found, detail[:300]


def reason_named(name: str) -> LostReason:
    """The entry an old-style free-text reason names (case and spaces aside), or a DomainError."""
    found = LostReason.objects.named(name)
    if found is None:
        raise DomainError(
            "No lost reason has this name: send `lost_reason` (an id from /api/lost-reasons/).",
            field="reason",
        )
    return found


def _save(entry: LostReason) -> LostReason:
    entry.name = (entry.name or "").strip()
    if not entry.name:
        raise DomainError("Give the reason a name.", field="name")
    if LostReason.objects.filter(name__iexact=entry.name).exclude(pk=entry.pk).exists():
        raise DomainError("A reason with this name is already on the list.", field="name")
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as clash:  # a concurrent twin
        raise DomainError(
            "A reason with this name is already on the list.", field="name"
        ) from clash
    return entry


@transaction.atomic
def create_lost_reason(
    *,
    by: User,
    name: str,
    active: bool = True,
    allows_other: bool = False,
    order: int | None = None,
) -> LostReason:
    """A new entry, last on the list unless given an `order`."""
    require_admin(by, ADMINS_ONLY)
    if order is None:
        order = (LostReason.objects.aggregate(m=Max("order"))["m"] or 0) + 1
    entry = LostReason(name=name, active=active, allows_other=allows_other, order=order)
    return _save(entry)


@transaction.atomic
def update_lost_reason(*, reason: LostReason, by: User, changes: Mapping[str, Any]) -> LostReason:
    """Rename, (de)activate, reorder or flip "allows other" on an entry."""
    require_admin(by, ADMINS_ONLY)
    entry = LostReason.objects.select_for_update().get(pk=reason.pk)
    for name, value in changes.items():
        if name not in LOST_REASON_SETTINGS:
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        setattr(entry, name, value)
    return _save(entry)


@transaction.atomic
def reorder_lost_reasons(*, by: User, reason_ids: list[int]) -> list[LostReason]:
    """Put the list in the given order (every entry exactly once)."""
    require_admin(by, ADMINS_ONLY)
    entries = {e.pk: e for e in LostReason.objects.select_for_update()}
    ids = [int(pk) for pk in reason_ids]
    if set(ids) != set(entries) or len(ids) != len(entries):
        raise DomainError("List every lost reason exactly once.", field="reason_ids")
    for place, pk in enumerate(ids, start=1):
        entries[pk].order = place
    LostReason.objects.bulk_update(entries.values(), ["order"])
    return [entries[pk] for pk in ids]


@transaction.atomic
def shift_lost_reason(*, reason: LostReason, by: User, up: bool) -> bool:
    """Move an entry one place up or down the list; False at either end."""
    require_admin(by, ADMINS_ONLY)
    ids = list(LostReason.objects.order_by("order", "id").values_list("pk", flat=True))
    at = ids.index(reason.pk)
    to = at - 1 if up else at + 1
    if not 0 <= to < len(ids):
        return False
    ids[at], ids[to] = ids[to], ids[at]
    reorder_lost_reasons(by=by, reason_ids=ids)
    return True
