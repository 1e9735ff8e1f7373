"""The pipeline board (SPEC §5): columns, pages of cards, the live poll, and the pieces the
board's changes (`board_changes`) answer with: the card and the column headers.

htmx swaps the partials of `deals/board.html`: `#column-header` (out of band after every
change), `#card`, `#cards` (a page of a column), `#required-form` and `#lost-form` (in the
board's dialog).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.avatars import Avatar
from accounts.models import Team, User
from accounts.visibility import is_admin, writable_owner_ids
from accounts.web import AuthedRequest
from deals import live
from deals.forms import BoardFilterForm
from deals.models import Deal, Pipeline, Stage
from deals.selectors import (
    BoardFilters,
    Column,
    ColumnTotals,
    OwnerChoice,
    board_deals,
    board_page_size,
    column_headers,
    column_page,
    first_pages,
    one_card,
    owner_choices,
    parse_cursor,
    team_choices,
)
from deals.templatetags.card_cache import prepare_cards
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
    if filters.team is not None:
        params["team"] = str(filters.team)
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


class CardView(NamedTuple):
    """Everything a card shows: what the `card` partial of `deals/board.html` reads, and
    nothing else, so equal views draw equal cards (`deals.templatetags.card_cache`)."""

    pk: int
    stage_id: int
    version: int
    status: str
    title: str
    company: str
    amount: Decimal | None
    currency: str
    owner: Avatar
    this_year: int  # dates of other years show theirs
    closes: dt.date | None
    closes_late: bool
    days_in_stage: int
    stalled: bool
    stall_reasons: tuple[str, ...]
    lost_reason: str
    next_kind: str
    next_subject: str
    next_due: dt.date | None
    next_overdue: bool
    next_step: str
    writable: bool

    @classmethod
    def of(cls, deal: Deal, *, writable: bool, now: dt.datetime, today: dt.date) -> CardView:
        """The card of a deal whose owner, company and next activity are attached
        (`deals.selectors.attach_card_relations`); `writable`: may the viewer change it."""
        close, due = deal.expected_close_date, getattr(deal, "next_activity_due", None)
        return cls(
            pk=deal.pk,
            stage_id=deal.stage_id,
            version=deal.version,
            status=deal.status,
            title=deal.title,
            company=deal.company.name if deal.company_id and deal.company else "",
            amount=deal.amount,
            currency=deal.currency,
            owner=Avatar.of(deal.owner),
            this_year=today.year,
            closes=close,
            closes_late=bool(close and close < today and deal.status == Deal.Status.OPEN),
            days_in_stage=max((now - deal.stage_entered_at).days, 0),
            stalled=deal.stalled,
            stall_reasons=tuple(deal.stall_reasons or ()),
            lost_reason=deal.lost_reason_text if deal.status == Deal.Status.LOST else "",
            next_kind=getattr(deal, "next_activity_kind", None) or "",
            next_subject=getattr(deal, "next_activity_subject", None) or "",
            next_due=timezone.localdate(due) if due else None,
            next_overdue=bool(due and due < now),
            next_step=deal.next_step,
            writable=writable,
        )


def decorate_cards(cards: Iterable[Deal], *, writable: set[int] | None) -> list[CardView]:
    """Give each deal its `card` (`CardView`), which the template draws; `writable`: owners
    whose deals the viewer may change (None: everyone's). Returns the views, in order."""
    now = timezone.now()
    today = timezone.localdate(now)
    views = []
    for deal in cards:
        can_write = writable is None or deal.owner_id in writable
        view = CardView.of(deal, writable=can_write, now=now, today=today)
        deal.card = view  # type: ignore[attr-defined]
        views.append(view)
    return views


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
            **extra,
        }


def board_scope(request: AuthedRequest, pipeline: Pipeline) -> BoardScope:
    _, filters = read_filters(request)
    stages = list(pipeline.stages.order_by("order"))
    return BoardScope(pipeline, stages, filters, filter_querystring(filters))


def visible_deal(request: AuthedRequest, deal_id: int) -> Deal:
    """The deal if this user may see it; 404 otherwise (never 403: that would confirm it)."""
    deal: Deal = get_object_or_404(
        Deal.objects.visible_to(request.user).select_related("pipeline"), pk=deal_id
    )
    return deal


def headers_for(
    request: AuthedRequest, scope: BoardScope, stage_ids: Sequence[int | None]
) -> dict[str, Any]:
    """Fresh headers for out-of-band swaps: these stages' columns (count, total, weighted) as
    `header_columns`, and the whole pipeline's as `pipeline_total`.

    Every column is summed for the pipeline's total, in the same statement as the columns that
    changed (the running totals, or one LATERAL aggregate on PostgreSQL), so it always equals
    the sum of the headers shown."""
    totals = column_headers(request.user, scope.pipeline, scope.filters, scope.stages)
    wanted = set(stage_ids)
    return {
        "header_columns": [
            Column(stage=s, totals=totals[s.pk]) for s in scope.stages if s.pk in wanted
        ],
        "pipeline_total": ColumnTotals.added(totals.values()),
    }


def card_for(deal_id: int, *, viewer: User, writable: set[int] | None) -> Deal:
    deal = one_card(deal_id, viewer=viewer)
    decorate_cards([deal], writable=writable)
    return deal


def shows_on_board(deal: Deal, filters: BoardFilters) -> bool:
    return deal.status in filters.statuses()


# --- the board -------------------------------------------------------------------------------


def _pipeline_shown(pipelines: Sequence[Pipeline], pipeline_id: int | None) -> Pipeline | None:
    """The pipeline asked for (the default one when none is): 404 for an unknown id."""
    if pipeline_id is None:
        return next(iter(pipelines), None)
    pipeline = next((p for p in pipelines if p.pk == pipeline_id), None)
    if pipeline is None:
        raise Http404("No such pipeline.")
    return pipeline


def _board_columns(
    request: AuthedRequest, scope: BoardScope, owners: Sequence[OwnerChoice]
) -> list[Column]:
    """Every column with its header and first page of cards."""
    user = request.user
    admin = is_admin(user)
    # The visible owners are the owner filter's people: listed, they narrow every column's scan.
    visible = None if admin else [o.pk for o in owners]
    totals = column_headers(
        user, scope.pipeline, scope.filters, scope.stages, visible_owner_ids=visible
    )
    deals = board_deals(user, scope.pipeline, scope.filters, visible)
    stage_ids = [stage.pk for stage in scope.stages]
    statuses = scope.filters.statuses()
    known = [o.user for o in owners]
    pages = first_pages(
        deals, stage_ids, board_page_size(), statuses, viewer=user, known_owners=known
    )
    writable = None if admin else {o.pk for o in owners if o.writable}
    columns, views = [], []
    for stage in scope.stages:
        cards, has_more = pages[stage.pk]
        views += decorate_cards(cards, writable=writable)
        columns.append(Column(stage, totals[stage.pk], cards, has_more))
    prepare_cards(views)
    return columns


@login_required
@require_GET
def board(request: AuthedRequest, pipeline_id: int | None = None) -> HttpResponse:
    """The board of one pipeline (the default one at /board/), filtered by its URL."""
    pipelines = list(Pipeline.objects.order_by("-is_default", "name"))
    pipeline = _pipeline_shown(pipelines, pipeline_id)
    if pipeline is None:
        return render(request, BOARD, {"nav": "board", "pipelines": [], "pipeline": None})
    form, filters = read_filters(request)
    teams = team_choices(request.user)
    filters = _known_team(form, filters, teams)
    stages = list(pipeline.stages.order_by("order"))
    scope = BoardScope(pipeline, stages, filters, filter_querystring(filters))
    # Read the live version before the deals, so a change made meanwhile is picked up next poll.
    version = live.current_version(pipeline.pk)
    owners = owner_choices(request.user)
    columns = _board_columns(request, scope, owners)
    body_only = bool(request.htmx and request.htmx.target == "board-body")
    context = scope.context(
        nav="board",
        pipelines=pipelines,
        columns=columns,
        pipeline_total=ColumnTotals.added(column.totals for column in columns),
        total_oob=body_only,  # the total sits in the toolbar, outside the swapped body
        filter_form=form,
        owners=owners,
        teams=teams,
        live_version=version,
        stage_signature=",".join(str(s.pk) for s in stages),
        page_size=board_page_size(),
    )
    if body_only:
        return render(request, f"{BOARD}#board-body", context)
    return render(request, BOARD, context)


def _known_team(
    form: BoardFilterForm, filters: BoardFilters, teams: Sequence[Team]
) -> BoardFilters:
    """The filters without a team the user may not see (reported with the filters' errors)."""
    if filters.team is None or any(team.pk == filters.team for team in teams):
        return filters
    form.add_error("team", "No such team.")
    return replace(filters, team=None)


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
        deals,
        stage.pk,
        statuses=scope.filters.statuses(),
        after=after,
        limit=limit,
        viewer=request.user,
    )
    prepare_cards(decorate_cards(cards, writable=writable_ids(request.user)))
    column = Column(stage=stage, totals=ColumnTotals(), cards=cards, has_more=has_more)
    context = scope.context(column=column, cards=cards, refresh=refresh)
    if refresh:
        context.update(headers_for(request, scope, [stage.pk]))
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
