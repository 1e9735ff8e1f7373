"""The deals list `/deals/`: a sortable, filterable table, page by page, with its CSV; bulk
actions on the ticked deals or on every deal matching the filter; the trash and its restore.

Filters and sort live in the URL (htmx pushes it), so a page, its CSV and a bulk action on
"all matching" read the same query string. htmx swaps the `results` partial of
`deals/list.html`; a delete answers with an Undo toast (`undo-toast`), also shown on the list
after a deal page's Delete. Every change goes through `deals.services` (see `services.bulk`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.visibility import assignable_people
from accounts.web import AuthedRequest
from deals.forms import BulkActionForm, DealListFilterForm
from deals.models import Deal, DeletedDeal, LostReason, Stage
from deals.selectors import owner_choices
from deals.selectors.deal_list import (
    CSV_HEADER,
    DealListFilters,
    csv_rows,
    matching_deals,
    ordered_ids,
    rows_of,
    sort_key,
)
from deals.services import bulk, trash
from deals.views.board import writable_ids
from pipeline_crm.csv_files import streaming_csv_response, wants_csv
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import (
    error_response,
    form_error_message,
    message_response,
    swap_target,
    toast,
)
from pipeline_crm.ids import parse_id

LIST = "deals/list.html"
TRASH = "deals/trash.html"
PAGE_SIZE = 50
RESULTS_ID = "deal-results"
TRASH_RESULTS_ID = "trash-results"
# The trash entries of the last delete, for the Undo toast of the next list page.
UNDO_SESSION_KEY = "deals_undo"

# Columns of the table: (sort key, header).
COLUMNS = (
    ("title", "Deal"),
    ("company", "Company"),
    ("contact", "Contact"),
    ("stage", "Stage"),
    ("status", "Status"),
    ("amount", "Amount"),
    ("owner", "Owner"),
    ("close", "Expected close"),
    ("activity", "Last activity"),
    ("probability", "Probability"),
)


@dataclass(frozen=True)
class ColumnHeader:
    key: str
    label: str
    next_sort: str  # what clicking the header asks for
    state: str  # aria-sort: ascending, descending or none


def column_headers(sort: str) -> list[ColumnHeader]:
    """The sortable headers: a click sorts by the column, a second click reverses it."""
    headers = []
    for key, label in COLUMNS:
        if sort == key:
            headers.append(ColumnHeader(key, label, f"-{key}", "ascending"))
        elif sort == f"-{key}":
            headers.append(ColumnHeader(key, label, key, "descending"))
        else:
            headers.append(ColumnHeader(key, label, key, "none"))
    return headers


def _list_state(request: AuthedRequest) -> tuple[DealListFilterForm, DealListFilters, str]:
    """The filter form, the filters and the sort of the list's query string."""
    form = DealListFilterForm(request.GET)
    return form, form.to_filters(), sort_key(request.GET.get("sort"))


def _stages() -> list[Stage]:
    return list(Stage.objects.select_related("pipeline").order_by("pipeline__name", "order"))


def _results_context(
    request: AuthedRequest, filters: DealListFilters, sort: str, stages: Sequence[Stage]
) -> dict[str, Any]:
    """What the `results` partial reads: a page of rows, the bulk toolbar's choices."""
    user = request.user
    ids: Paginator[Any] = Paginator(ordered_ids(user, filters, sort), PAGE_SIZE)
    page = ids.get_page(request.GET.get("page"))
    rows = rows_of(list(page.object_list))  # the page's ids, then its deals whole
    page.object_list = rows
    writable = writable_ids(user)
    for deal in rows:
        deal.writable = writable is None or deal.owner_id in writable  # type: ignore[attr-defined]
    return {
        "page": page,
        "sort": sort,
        "columns": column_headers(sort),
        "filters": filters,
        "assignable": list(assignable_people(user)),
        "stages": stages,
        "lost_reasons": list(LostReason.objects.offered()),
        "many_pipelines": len({stage.pipeline_id for stage in stages}) > 1,
        "actions": BulkActionForm.ACTIONS,
    }


def _results_response(request: AuthedRequest, **extra: Any) -> HttpResponse:
    _, filters, sort = _list_state(request)
    context = _results_context(request, filters, sort, _stages())
    return render(request, f"{LIST}#results", {**context, **extra})


@login_required
@require_GET
def deal_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    """The list (or, with `?format=csv`, every row it matches as a streamed CSV)."""
    form, filters, sort = _list_state(request)
    if wants_csv(request):
        rows = csv_rows(request.user, filters, sort)
        return streaming_csv_response(filename_stem="deals", header=CSV_HEADER, rows=rows)
    stages = _stages()
    context = _results_context(request, filters, sort, stages)
    if swap_target(request) == RESULTS_ID:
        return render(request, f"{LIST}#results", context)
    context.update(
        nav="deals",
        filter_form=form,
        owners=owner_choices(request.user),
        pipelines=list({s.pipeline_id: s.pipeline for s in stages}.values()),
        undo=_undo_entries(request),
    )
    return render(request, LIST, context)


# --- bulk actions --------------------------------------------------------------------------------


def _selection(request: AuthedRequest, form: BulkActionForm) -> QuerySet[Deal] | HttpResponse:
    """The deals a bulk action is for: the ticked ones, or all that match the list's filter
    (the query string of the action's URL). A refusal when they are not what the user saw."""
    user = request.user
    if form.cleaned_data.get("all_matching"):
        _, filters, _ = _list_state(request)
        deals = matching_deals(user, filters)
        shown = form.cleaned_data.get("count")
        if shown is not None and (found := deals.count()) != shown:
            message = (
                f"The filter now matches {found} deals, not {shown}: check them and try again."
            )
            return message_response(message, 409)
        return deals
    ids = form.selected_ids()
    if not ids:
        return message_response("Select some deals first.", 400)
    deals = Deal.objects.visible_to(user).filter(pk__in=ids)
    missing = len(ids) - deals.count()
    if missing:
        noun = "deal was" if missing == 1 else "deals were"
        return message_response(f"{missing} of the selected {noun} deleted meanwhile.", 404)
    return deals


def _run(action: str, deals: QuerySet[Deal], request: AuthedRequest, data: dict[str, Any]) -> str:
    """Apply the action through `deals.services.bulk`; the success message."""
    user = request.user
    if action == "reassign":
        done = bulk.bulk_reassign(deals=deals, by=user, owner=data["owner"])
        return f"{_deals(done)} reassigned to {data['owner']}."
    if action == "move":
        done = bulk.bulk_move(deals=deals, by=user, stage=data["stage"])
        return f"{_deals(done)} moved to {data['stage'].name}."
    if action == "lost":
        done = bulk.bulk_mark_lost(
            deals=deals, by=user, reason=data["lost_reason"], detail=data["lost_reason_detail"]
        )
        return f"{_deals(done)} marked lost."
    entries = bulk.bulk_delete(deals=deals, by=user)
    remember_undo(request, entries)
    return f"{_deals(entries)} moved to the trash."


def _deals(items: Sequence[object]) -> str:
    return "1 deal" if len(items) == 1 else f"{len(items)} deals"


@login_required
@require_POST
def bulk_action(request: AuthedRequest) -> HttpResponse:
    """Reassign, move, mark lost or delete the selected deals, all or none."""
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        return message_response(form_error_message(form), 400)
    deals = _selection(request, form)
    if isinstance(deals, HttpResponse):
        return deals
    action = form.cleaned_data["action"]
    try:
        message = _run(action, deals, request, form.cleaned_data)
    except DomainError as exc:
        return error_response(exc)
    if swap_target(request) != RESULTS_ID:
        messages.success(request, message)
        return redirect(f"{reverse('deal-list')}?{request.GET.urlencode()}")
    undo = _undo_entries(request) if action == "delete" else []
    return toast(_results_response(request, undo=undo, undo_oob=True), message, "success")


# --- trash and undo ------------------------------------------------------------------------------


def remember_undo(request: AuthedRequest, entries: Sequence[DeletedDeal]) -> None:
    """Offer to undo this delete on the next list page (the deal page's Delete lands there)."""
    request.session[UNDO_SESSION_KEY] = [entry.pk for entry in entries]


def _undo_entries(request: AuthedRequest) -> list[DeletedDeal]:
    """The trash entries of the delete just made, once (the session forgets them)."""
    ids = request.session.pop(UNDO_SESSION_KEY, None)
    if not ids:
        return []
    return list(DeletedDeal.objects.visible_to(request.user).filter(pk__in=ids))


def _trash_entries(request: AuthedRequest) -> QuerySet[DeletedDeal]:
    return (
        DeletedDeal.objects.visible_to(request.user)
        .select_related("owner", "deleted_by", "pipeline")
        .order_by("-deleted_at", "-id")
    )


def _trash_context(request: AuthedRequest) -> dict[str, Any]:
    page = Paginator(_trash_entries(request), PAGE_SIZE).get_page(request.GET.get("page"))
    return {"page": page, "nav": "deals", "trash_days": trash.trash_days()}


TRASH_CSV_HEADER = (
    "deal_id",
    "title",
    "pipeline",
    "stage",
    "amount",
    "currency",
    "owner",
    "deleted_by",
    "deleted_at",
)


def _trash_csv_rows(entries: QuerySet[DeletedDeal]) -> Iterator[tuple[Any, ...]]:
    rows = entries.values_list(
        "deal_id",
        "title",
        "pipeline__name",
        "stage_name",
        "amount",
        "currency",
        "owner__username",
        "deleted_by__username",
        "deleted_at",
    )
    yield from rows.iterator(chunk_size=2000)


@login_required
@require_GET
def trash_page(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    """Deleted deals the user could have deleted (theirs, their teams' as a manager, all for
    an admin), newest first, each with Restore; `?format=csv` streams them."""
    if wants_csv(request):
        rows = _trash_csv_rows(_trash_entries(request))
        return streaming_csv_response(
            filename_stem="deals-trash", header=TRASH_CSV_HEADER, rows=rows
        )
    context = _trash_context(request)
    if swap_target(request) == TRASH_RESULTS_ID:
        return render(request, f"{TRASH}#trash-results", context)
    return render(request, TRASH, context)


@login_required
@require_POST
def restore(request: AuthedRequest) -> HttpResponse:
    """Bring deals back from the trash (the Undo toast sends the whole delete's entries)."""
    raw = request.POST.getlist("ids")
    ids = sorted({pk for pk in map(parse_id, raw) if pk is not None})
    entries = list(DeletedDeal.objects.visible_to(request.user).filter(pk__in=ids))
    if not ids or len(entries) != len(ids):
        return message_response("Not in the trash any more: restored or purged meanwhile.", 404)
    try:
        restored = trash.restore_deals(entries=entries, by=request.user)
    except DomainError as exc:
        return error_response(exc)
    message = f"{_deals(restored)} restored."
    target = swap_target(request)
    if target == RESULTS_ID:
        return toast(_results_response(request), message, "success")
    if target == TRASH_RESULTS_ID:
        return toast(
            render(request, f"{TRASH}#trash-results", _trash_context(request)), message, "success"
        )
    messages.success(request, message)
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("deal-trash")
    return redirect(next_url)
