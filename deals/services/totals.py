"""The board's running column totals: locked ahead of a change of many deals, and summed afresh
(repair after triggers were bypassed)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Q, Sum

from deals.models import ColumnTotal, Deal
from pipeline_crm.db import is_postgresql, lock_against_writes


def lock_column_totals(*, owner_ids: Iterable[int], stage_ids: Iterable[int]) -> None:
    """Lock, in key order, the running totals of these owners in these stages: a change of
    many deals calls this before its first write. PostgreSQL's triggers write the totals deal
    by deal, so in no particular order across many deals, while a single move takes its two
    rows in key order: locked ahead like this, the two queue instead of deadlocking."""
    if not is_postgresql():
        return
    rows = ColumnTotal.objects.select_for_update().filter(
        owner_id__in=set(owner_ids), stage_id__in=set(stage_ids)
    )
    list(rows.order_by("stage_id", "status", "owner_id", "currency").values_list("pk", flat=True))


@transaction.atomic
def rebuild_column_totals() -> int:
    """Sum the board's running column totals afresh from the deals; returns how many rows.

    PostgreSQL's triggers keep them right through every write; this repairs them after anything
    that bypassed the triggers (a restore with triggers disabled, a trigger dropped by hand).
    The deal table is locked against writes meanwhile, so no change slips between the two.
    """
    lock_against_writes(Deal)
    ColumnTotal.objects.all().delete()
    # What a `ColumnTotal` row holds, for each (stage, status, owner, currency).
    sums = (
        Deal.objects.order_by()
        .values("stage_id", "status", "owner_id", "currency")
        .annotate(
            n=Count("*"),
            amount_sum=Sum("amount"),
            without_override=Sum("amount", filter=Q(probability_override__isnull=True)),
            override_weighted=Sum(F("amount") * F("probability_override")),
        )
        .values_list(
            "stage_id",
            "status",
            "owner_id",
            "currency",
            "n",
            "amount_sum",
            "without_override",
            "override_weighted",
        )
    )
    # Sums over no amount at all are NULL; the totals are 0 then.
    rows = [
        ColumnTotal(
            stage_id=stage_id,
            status=status,
            owner_id=owner_id,
            currency=currency,
            deals=n,
            amount_sum=amount or Decimal(0),
            amount_without_override=without or Decimal(0),
            override_weighted=weighted or Decimal(0),
        )
        for stage_id, status, owner_id, currency, n, amount, without, weighted in (sums)
    ]
    ColumnTotal.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
