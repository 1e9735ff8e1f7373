"""The pipeline board (SPEC §5): columns, pages of cards, the live poll, and the pieces the
board's changes (`board_changes`) answer with: the card and the column headers.

htmx swaps the partials of `deals/board.html`: `#column-header` (out of band after every
change), `#card`, `#cards` (a page of a column), `#required-form` and `#lost-form` (in the
board's dialog).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.visibility import is_admin, writable_owner_ids
from accounts.web import AuthedRequest
from deals import live
from deals.forms import (
    BoardFilterForm,
    QuickAddForm,
)
from deals.models import Deal, Pipeline, Stage
from deals.selectors import (
    CARD_FIELDS,
    BoardFilters,
    Column,
    ColumnTotals,
    attach_next_activities,
    board_deals,
    board_page_size,
    column_page,
    column_totals,
    first_pages,
    owner_choices,
    parse_cursor,
    stored_column_totals,
)
from pipeline_crm.htmx import (
    add_trigger,
)

BOARD = "deals/board.html"
# A refreshed column reloads as many cards as the user had loaded, up to this many.
MAX_REFRESH_CARDS = 300


# --- shared pieces -----------------------------------------------------------------------------


def filter_querystring(filters: BoardFilters) -> str:
    """The non-default filters as "?a=b&…" (or ""), appended to every board URL."""
    params: dict[str, str] = {}
    if filters.owner != "all":
        params["owner"] = filters.owner
    if filters.q:
        params["q"] = filters.q
    if filters.stalled:
        params["stalled"] = "1"
    if filters.close_from:
        params["close_from"] = filters.close_from.isoformat()
    if filters.close_to:
        params["close_to"] = filters.close_to.isoformat()
    if filters.status:
        params["status"] = filters.status
    return f"?{urlencode(params)}" if params else ""


def read_filters(request: AuthedRequest) -> tuple[BoardFilterForm, BoardFilters]:
    form = BoardFilterForm(request.GET)
    return form, form.to_filters()


def writable_ids(user: User) -> set[int] | None:
    """Owners whose deals this user may change; None means everyone (admins)."""
    if is_admin(user):
        return None
    return set(writable_owner_ids(user).values_list("pk", flat=True))


def decorate_cards(cards: Iterable[Deal], *, writable: set[int] | None) -> None:
    """Values a card shows that are not columns: may I move it, days in stage, overdue."""
    now = timezone.now()
    for deal in cards:
        deal.can_write = writable is None or deal.owner_id in writable  # type: ignore[attr-defined]
        deal.days_in_stage = max((now - deal.stage_entered_at).days, 0)  # type: ignore[attr-defined]
        due = getattr(deal, "next_activity_due", None)
        deal.next_overdue = bool(due and due < now)  # type: ignore[attr-defined]


@dataclass
class BoardScope:
    """What every board request works on: the pipeline, its stages, the user's filters."""

    pipeline: Pipeline
    stages: list[Stage]
    filters: BoardFilters
    qs: str

    @property
    def won_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.kind == Stage.Kind.WON), None)

    def stage(self, pk: int) -> Stage | None:
        return next((s for s in self.stages if s.pk == pk), None)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "stages": self.stages,
            "filters": self.filters,
            "qs": self.qs,
            "today": timezone.localdate(),
            **extra,
        }


def board_scope(request: AuthedRequest, pipeline: Pipeline) -> BoardScope:
    _, filters = read_filters(request)
    stages = list(pipeline.stages.order_by("order"))
    return BoardScope(pipeline, stages, filters, filter_querystring(filters))


def visible_deal(request: AuthedRequest, deal_id: int) -> Deal:
    """The deal if this user may see it; 404 otherwise (never 403: that would confirm it)."""
    return get_object_or_404(
        Deal.objects.visible_to(request.user).select_related("pipeline"), pk=deal_id
    )


def headers_for(
    request: AuthedRequest, scope: BoardScope, stage_ids: Sequence[int | None]
) -> list[Column]:
    """Fresh column headers (count, total, weighted) for these stages, for out-of-band swaps."""
    wanted = [s for s in scope.stages if s.pk in set(stage_ids)]
    if not wanted:
        return []
    totals = stored_column_totals(request.user, scope.filters, wanted)
    if totals is None:
        deals = board_deals(request.user, scope.pipeline, scope.filters).filter(
            stage_id__in=[s.pk for s in wanted]
        )
        totals = column_totals(deals, wanted, scope.filters.statuses())
    return [Column(stage=s, totals=totals[s.pk]) for s in wanted]


def card_for(deal_id: int, *, writable: set[int] | None) -> Deal:
    # One card: joining its owner and company is cheaper than fetching them apart.
    names = ("owner__username", "owner__first_name", "owner__last_name", "company__name")
    deal = (
        Deal.objects.filter(pk=deal_id)
        .select_related("owner", "company")
        .only(*CARD_FIELDS, *names)
        .get()
    )
    attach_next_activities([deal])
    decorate_cards([deal], writable=writable)
    return deal


def shows_on_board(deal: Deal, filters: BoardFilters) -> bool:
    return deal.status in filters.statuses()


# How long column totals are reused while the board's live version stays the same. Every deal
# change bumps the version (deals/live.py), so this only bounds writes that bypass the signals
# (bulk imports); the stall sweep's bulk updates matter to the "stalled" filter, never cached.
TOTALS_CACHE_SECONDS = 60


def board_totals(
    user: User, deals: QuerySet[Deal], scope: BoardScope, *, version: int, visibility: str
) -> dict[int, ColumnTotals]:
    """Column totals: the running ones PostgreSQL keeps, when the filters allow; otherwise
    counted, and reused while nothing on the board changed.

    The cache key holds the board's live version, whose deals the user sees (teammates share
    an entry) and the filters; any change to a deal of the pipeline moves the version on.
    """
    stored = stored_column_totals(user, scope.filters, scope.stages)
    if stored is not None:
        return stored
    statuses = scope.filters.statuses()
    if scope.filters.stalled or not version:
        return column_totals(deals, scope.stages, statuses)
    stages_key = ",".join(f"{s.pk}:{s.probability}" for s in scope.stages)
    raw = f"{scope.pipeline.pk}|{version}|{visibility}|{scope.qs}|{stages_key}"
    key = "board-totals:" + hashlib.sha256(raw.encode()).hexdigest()
    try:
        cached = cache.get(key)
    except Exception:  # the cache is an optimisation: never a reason to fail the board
        cached = None
    if cached is not None:
        return cached
    totals = column_totals(deals, scope.stages, statuses)
    with suppress(Exception):
        cache.set(key, totals, timeout=TOTALS_CACHE_SECONDS)
    return totals


# --- the board -------------------------------------------------------------------------------


@login_required
@require_GET
def board(request: AuthedRequest, pipeline_id: int | None = None) -> HttpResponse:
    """The board of one pipeline (the default one at /board/), filtered by its URL."""
    pipelines = list(Pipeline.objects.order_by("-is_default", "name"))
    if pipeline_id is None:
        pipeline = next(iter(pipelines), None)
    else:
        pipeline = next((p for p in pipelines if p.pk == pipeline_id), None)
        if pipeline is None:
            raise Http404("No such pipeline.")
    if pipeline is None:
        return render(request, BOARD, {"nav": "board", "pipelines": [], "pipeline": None})
    form, filters = read_filters(request)
    stages = list(pipeline.stages.order_by("order"))
    scope = BoardScope(pipeline, stages, filters, filter_querystring(filters))
    # Read the live version before the deals, so a change made meanwhile is picked up next poll.
    version = live.current_version(pipeline.pk)
    owners = owner_choices(request.user)
    admin = is_admin(request.user)
    deals = board_deals(request.user, pipeline, filters, None if admin else [o.pk for o in owners])
    totals = board_totals(
        request.user,
        deals,
        scope,
        version=version,
        visibility="all" if admin else ",".join(str(o.pk) for o in owners),
    )
    page_size = board_page_size()
    pages = first_pages(
        deals,
        [s.pk for s in stages],
        page_size,
        filters.statuses(),
        known_owners=[o.user for o in owners],
    )
    writable = None if admin else {o.pk for o in owners if o.writable}
    columns = []
    for stage in stages:
        cards, has_more = pages[stage.pk]
        decorate_cards(cards, writable=writable)
        column = Column(stage=stage, totals=totals[stage.pk], cards=cards, has_more=has_more)
        column.quick_form = QuickAddForm(stage=stage, user=request.user)  # type: ignore[attr-defined]
        columns.append(column)
    context = scope.context(
        nav="board",
        pipelines=pipelines,
        columns=columns,
        filter_form=form,
        owners=owners,
        live_version=version,
        stage_signature=",".join(str(s.pk) for s in stages),
        page_size=page_size,
    )
    if request.htmx and request.htmx.target == "board-body":
        return render(request, f"{BOARD}#board-body", context)
    return render(request, BOARD, context)


@login_required
@require_GET
def column_cards(request: AuthedRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    """A page of one column: "show more" (after a cursor) or a live refresh (first N cards)."""
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    scope = board_scope(request, pipeline)
    stage = scope.stage(stage_id)
    if stage is None:
        raise Http404("No such stage on this board.")
    page_size = board_page_size()
    refresh = request.GET.get("refresh") == "1"
    try:
        limit = int(request.GET.get("limit") or page_size)
    except ValueError:
        limit = page_size
    limit = min(max(limit, 1), MAX_REFRESH_CARDS)
    after = None if refresh else parse_cursor(request.GET.get("after"))
    deals = board_deals(request.user, pipeline, scope.filters)
    cards, has_more = column_page(
        deals, stage.pk, statuses=scope.filters.statuses(), after=after, limit=limit
    )
    decorate_cards(cards, writable=writable_ids(request.user))
    column = Column(stage=stage, totals=ColumnTotals(), cards=cards, has_more=has_more)
    context = scope.context(column=column, cards=cards, refresh=refresh)
    if refresh:
        context["header_columns"] = headers_for(request, scope, [stage.pk])
    return render(request, f"{BOARD}#cards-page", context)


@login_required
@require_GET
def board_live(request: AuthedRequest, pipeline_id: int) -> HttpResponse:
    """The live poll: 204 when nothing changed since version `v`, else which columns to reload.

    Answered from the cache alone (see deals/live.py), so polling every few seconds is cheap.
    """
    try:
        known = int(request.GET.get("v", "0"))
    except ValueError:
        known = 0
    version, changed = live.changes_since(pipeline_id, known)
    if changed is None:
        return HttpResponse(status=204)
    detail: dict[str, Any] = {"version": version, "columns": changed}
    if changed == live.EVERYTHING:
        # Stages may have been added, removed or reordered: the client compares and reloads.
        stage_ids = Stage.objects.filter(pipeline_id=pipeline_id).order_by("order")
        detail["stages"] = ",".join(str(pk) for pk in stage_ids.values_list("pk", flat=True))
    return add_trigger(HttpResponse(status=200), "board:changed", detail)
