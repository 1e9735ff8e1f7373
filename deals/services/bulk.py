"""Bulk actions of the deals list: reassign, move to a stage, mark lost, delete.

Each applies the single action's own service (`update_deal`, `move_deal`, `mark_lost`,
`delete_deal`) to every deal, so the rules, the history rows and the events (open boards,
notifications, webhooks) are exactly those of one deal at a time. All in one transaction:
the deals are locked first, in id order (two bulk actions on overlapping deals queue instead
of deadlocking); every deal the rule refuses is collected, and if there is any, nothing is
changed and `BulkRefused` names them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from accounts.visibility import require_assignable
from deals.models import Deal, DeletedDeal, LostReason, Pipeline, Stage
from deals.services.editing import delete_deal, update_deal
from deals.services.lost_reasons import pick_lost_reason
from deals.services.moves import mark_lost, move_deal
from deals.services.totals import lock_column_totals
from pipeline_crm.errors import DomainError, NotAllowed

# More deals than this in one action: the user narrows the filter (each deal costs a few
# queries, and the locks are held until the end).
BULK_LIMIT = 1000
# How many refused deals a refusal names before "and N more".
NAMED_IN_REFUSAL = 10


class BulkRefused(DomainError):
    """Some deals cannot be changed, so none was. `failures`: (deal, why) for each of them."""

    def __init__(self, verb: str, failures: list[tuple[Deal, DomainError]]) -> None:
        named = "; ".join(
            f"“{deal.title}” ({deal.owner}): {error.message}"
            for deal, error in failures[:NAMED_IN_REFUSAL]
        )
        more = len(failures) - NAMED_IN_REFUSAL
        tail = f"; and {more} more" if more > 0 else ""
        count = "1 deal" if len(failures) == 1 else f"{len(failures)} deals"
        super().__init__(f"Nothing was changed: {count} cannot be {verb}. {named}{tail}")
        self.failures = failures
        if all(isinstance(error, NotAllowed) for _, error in failures):
            self.http_status = 403
            self.code = NotAllowed.code


def _locked(
    deals: QuerySet[Deal], *, owner: User | None = None, stage: Stage | None = None
) -> list[Deal]:
    """The deals, locked in id order. The selection is read first, then locked by id alone,
    without joins (PostgreSQL re-checks a joined row that a concurrent writer changed and
    would drop the deal: see `common.lock`), in one order for every writer."""
    ids = list(deals.order_by("pk").values_list("pk", flat=True)[: BULK_LIMIT + 1])
    if len(ids) > BULK_LIMIT:
        raise DomainError(
            f"That is more than {BULK_LIMIT} deals at once: narrow the filter and try again."
        )
    if not ids:
        raise DomainError("No deals selected.")
    locked = list(Deal.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids):
        gone = len(ids) - len(locked)
        raise DomainError(f"Nothing was changed: {gone} of the deals were deleted meanwhile.")
    lock_column_totals(
        owner_ids=[*(deal.owner_id for deal in locked), *([owner.pk] if owner else [])],
        stage_ids=[*(deal.stage_id for deal in locked), *([stage.pk] if stage else [])],
    )
    return locked


def _each(verb: str, deals: list[Deal], change: Callable[[Deal], Any]) -> list[Any]:
    """`change` every deal; if the rule refuses any, raise `BulkRefused` naming them all (the
    caller's transaction then undoes the others)."""
    results, failures = [], []
    for deal in deals:
        try:
            results.append(change(deal))
        except DomainError as exc:
            failures.append((deal, exc))
    if failures:
        raise BulkRefused(verb, failures)
    return results


@transaction.atomic
def bulk_reassign(*, deals: QuerySet[Deal], by: User, owner: User) -> list[Deal]:
    """Give the deals to `owner` (someone whose deals `by` may change)."""
    require_assignable(by, owner, what="deals")
    locked = _locked(deals, owner=owner)
    return _each(
        "reassigned",
        locked,
        lambda deal: update_deal(deal=deal, by=by, changes={"owner": owner}),
    )


@transaction.atomic
def bulk_move(*, deals: QuerySet[Deal], by: User, stage: Stage) -> list[Deal]:
    """Move the deals to `stage` of their pipeline (they must all be in that one)."""
    locked = _locked(deals, stage=stage)
    pipeline_ids = {deal.pipeline_id for deal in locked}
    if len(pipeline_ids) > 1:
        names = ", ".join(
            Pipeline.objects.filter(pk__in=pipeline_ids)
            .order_by("name")
            .values_list("name", flat=True)
        )
        raise DomainError(
            f"The selected deals are in several pipelines ({names}): "
            "select deals of one pipeline to move them to a stage.",
            field="stage",
        )
    if stage.pipeline_id not in pipeline_ids:
        raise DomainError(
            f"{stage.name} is a stage of another pipeline than the selected deals'.",
            field="stage",
        )
    return _each(
        "moved",
        [deal for deal in locked if deal.stage_id != stage.pk],
        lambda deal: move_deal(deal=deal, by=by, stage=stage, version=deal.version),
    )


@transaction.atomic
def bulk_mark_lost(
    *, deals: QuerySet[Deal], by: User, reason: int | LostReason | None, detail: str = ""
) -> list[Deal]:
    """Lose the deals, each in the stage it is in, for the same reason (the single action's
    rule: an active entry of the list, free text only with one that allows other)."""
    entry, detail = pick_lost_reason(reason=reason, detail=detail)
    locked = _locked(deals)
    return _each(
        "marked lost",
        locked,
        lambda deal: mark_lost(deal=deal, by=by, reason=entry, detail=detail, version=deal.version),
    )


@transaction.atomic
def bulk_delete(*, deals: QuerySet[Deal], by: User) -> list[DeletedDeal]:
    """Delete the deals: each goes to the trash, whence it can be restored."""
    locked = _locked(deals)
    return _each("deleted", locked, lambda deal: delete_deal(deal=deal, by=by))
