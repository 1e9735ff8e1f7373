"""Reads for the board and the deal page (no writes: those are in `deals.services`).

The board's cost must not grow with the number of deals:
- column totals are read from the running totals PostgreSQL keeps (`ColumnTotal`) when only
  owner and status filter the board; otherwise they are aggregates over the covering index
  `deal_board_totals_idx` (count, sum of amount, sum of amount × override). Either way the
  stage probability is applied per column afterwards;
- cards come a page per column, all columns' first pages in one UNION ALL of LIMIT queries
  (each walks `deal_column_idx` in board order and stops after a page);
- the next planned activity of each card is a correlated subquery on `activity_deal_next_idx`,
  evaluated for the page's cards only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from accounts.visibility import is_admin, readable_owner_ids, writable_owner_ids
from contacts.models import Company
from deals.models import (
    ColumnTotal,
    Deal,
    DealQuerySet,
    FieldChange,
    Pipeline,
    Stage,
    StageChange,
)
from followups.models import Activity

HUNDRED = Decimal(100)


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows, as read from its URL (see `deals.forms.BoardFilterForm`).

    owner: "all" (everything the user may see), "me", "team" (my teams' members) or a user id.
    status: "" shows open and won deals (lost ones leave the board), or exactly one status.
    """

    owner: str = "all"
    q: str = ""
    stalled: bool = False
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    status: str = ""

    @property
    def is_default(self) -> bool:
        return self == BoardFilters()

    def statuses(self) -> list[str]:
        if self.status:
            return [self.status]
        return [Deal.Status.OPEN, Deal.Status.WON]

    @property
    def kept_in_totals(self) -> bool:
        """Only owner and status narrow the board: the running column totals answer it."""
        return not (self.q or self.stalled or self.close_from or self.close_to)

    def owner_condition(self, user: User) -> Q:
        if self.owner == "me":
            return Q(owner=user)
        if self.owner == "team":
            return Q(owner__in=readable_owner_ids(user))
        if self.owner.isdigit():
            return Q(owner_id=int(self.owner))
        return Q()

    def apply(self, deals: DealQuerySet, user: User) -> DealQuerySet:
        deals = deals.filter(self.owner_condition(user), status__in=self.statuses())
        if self.q:
            deals = deals.matching(self.q)
        if self.stalled:
            deals = deals.filter(stalled=True)
        if self.close_from:
            deals = deals.filter(expected_close_date__gte=self.close_from)
        if self.close_to:
            deals = deals.filter(expected_close_date__lte=self.close_to)
        return deals


def board_deals(
    user: User,
    pipeline: Pipeline,
    filters: BoardFilters,
    visible_owner_ids: Sequence[int] | None = None,
) -> QuerySet[Deal]:
    """Every deal of the pipeline this user may see and the filters keep.

    `visible_owner_ids`, when the caller has them already (the owner filter lists them), are
    added as a literal list next to the visibility rule: redundant for the result, but the
    database can then range-scan the covering index for just those owners.
    """
    if visible_owner_ids is None:
        deals = Deal.objects.visible_to(user)
    else:
        # The same rule as `visible_to`, evaluated once by the caller (the owner filter reads
        # `accounts.visibility.readable_owner_ids`): repeated as a subquery in each of the
        # board's 14 UNION branches it cost more to plan than the branches cost to run.
        deals = Deal.objects.filter(owner_id__in=list(visible_owner_ids))
    return filters.apply(deals.filter(pipeline=pipeline), user)


# --- columns --------------------------------------------------------------------------------


@dataclass
class ColumnTotals:
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")


@dataclass
class Column:
    stage: Stage
    totals: ColumnTotals
    cards: list[Deal] = field(default_factory=list)
    has_more: bool = False

    @property
    def cursor(self) -> str:
        """Where the next page starts: after the last card shown."""
        return page_cursor(self.cards)


def page_cursor(cards: Sequence[Deal]) -> str:
    if not cards:
        return ""
    last = cards[-1]
    return f"{last.position}:{last.pk}"


def parse_cursor(raw: str | None) -> tuple[int, int] | None:
    """ "<position>:<id>" → (position, id); anything else → None (start from the top)."""
    try:
        position, pk = (raw or "").split(":")
        return int(position), int(pk)
    except ValueError:
        return None


# --- one UNION ALL of many small, index-friendly branches ----------------------------------------
#
# Both the totals and the first page of every column are "the same query for each (column,
# status)". Building and compiling 14 querysets through the ORM cost more than running them, so
# one branch is compiled with sentinel values and its SQL repeated with each branch's values.

_STAGE_SENTINEL = -987_654_321
_STATUS_SENTINEL = "__board_status__"


def _replicated_union(
    branch: QuerySet[Any], combos: Sequence[tuple[int, str]]
) -> tuple[str, list[Any]]:
    """UNION ALL of `branch` (compiled for the sentinels) once per (stage id, status)."""
    sql, params = branch.query.sql_with_params()
    stage_at = [i for i, value in enumerate(params) if value == _STAGE_SENTINEL]
    status_at = [i for i, value in enumerate(params) if value == _STATUS_SENTINEL]
    if not stage_at or not status_at:  # pragma: no cover - the ORM changed how it binds
        raise RuntimeError("Could not find the column and status in the compiled branch.")
    all_params: list[Any] = []
    for stage_id, status in combos:
        values = list(params)
        for i in stage_at:
            values[i] = stage_id
        for i in status_at:
            values[i] = status
        all_params.extend(values)
    return " UNION ALL ".join(f"({sql})" for _ in combos), all_params


def _union_supported() -> bool:
    return bool(connection.features.supports_slicing_ordering_in_compound)


def _run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


COLUMN_SUMS = ("n", "amount_sum", "amount_without_override", "override_weighted")


def column_sums() -> dict[str, Any]:
    """What a column header is made of, as aggregates over some deals (named as COLUMN_SUMS):
    their count, Σ amount, Σ amount of those without an override, and Σ amount × override;
    `_weighted_totals` turns them into count, total and weighted total."""
    return {
        "n": Count("*"),
        "amount_sum": Sum("amount"),
        "amount_without_override": Sum("amount", filter=Q(probability_override__isnull=True)),
        "override_weighted": Sum(F("amount") * F("probability_override")),
    }


def _totals_branch(deals: QuerySet[Deal], stage_id: int, status: str) -> QuerySet[Any]:
    return (
        deals.filter(stage_id=stage_id, status=status)
        .order_by()
        .values("stage_id")
        .annotate(**column_sums())
        .values_list("stage_id", *COLUMN_SUMS)
    )


def column_totals(
    deals: QuerySet[Deal], stages: Iterable[Stage], statuses: Sequence[str]
) -> dict[int, ColumnTotals]:
    """Count, amount and weighted amount of every column, in one query.

    Weighted = Σ amount × (override, else the stage's probability) / 100, split into the deals
    with an override (summed in SQL) and those without (their amount × the stage's probability),
    so every value read is a column of the covering index `deal_board_totals_idx` (pipeline,
    stage, status, owner, amount, probability_override). The query is a UNION ALL of one
    aggregate per (column, status): each is an index-only range scan of exactly its deals,
    where a single GROUP BY over the pipeline would be planned as a scan of the whole table.
    """
    stages = list(stages)
    combos = [(stage.pk, status) for stage in stages for status in statuses]
    rows: list[tuple[Any, ...]] = []
    if len(stages) <= 2:  # a header or two after a change: one small GROUP BY plans faster
        rows = list(
            deals.filter(stage_id__in=[s.pk for s in stages], status__in=statuses)
            .order_by()
            .values("stage_id")
            .annotate(**column_sums())
            .values_list("stage_id", *COLUMN_SUMS)
        )
    elif combos and _union_supported():
        rows = _run(
            *_replicated_union(_totals_branch(deals, _STAGE_SENTINEL, _STATUS_SENTINEL), combos)
        )
    else:
        for stage_id, status in combos:
            rows.extend(_totals_branch(deals, stage_id, status))
    return _weighted_totals(rows, stages)


def stored_column_totals(
    user: User, filters: BoardFilters, stages: Sequence[Stage]
) -> dict[int, ColumnTotals] | None:
    """The columns' headers from the running totals that PostgreSQL keeps (`ColumnTotal`): a
    few dozen rows summed, however many deals. None when the filters need the deals themselves
    (text, stalled, close dates) or on SQLite, which keeps no totals."""
    if connection.vendor != "postgresql" or not filters.kept_in_totals:
        return None
    rows = (
        ColumnTotal.objects.visible_to(user)
        .filter(
            filters.owner_condition(user),
            stage_id__in=[stage.pk for stage in stages],
            status__in=filters.statuses(),
        )
        .order_by()
        .values("stage_id")
        .annotate(
            n=Sum("deals"),
            amount=Sum("amount_sum"),
            without_override=Sum("amount_without_override"),
            override_weighted=Sum("override_weighted"),
        )
        .values_list("stage_id", "n", "amount", "without_override", "override_weighted")
    )
    return _weighted_totals(rows, stages)


def _weighted_totals(
    rows: Iterable[tuple[Any, ...]], stages: Sequence[Stage]
) -> dict[int, ColumnTotals]:
    """Rows of (stage id, count, amount, amount without override, Σ amount × override) → each
    column's totals, its deals without an override weighted by the stage's probability."""
    probability = {stage.pk: Decimal(stage.probability) for stage in stages}
    sums: dict[int, list[Decimal]] = {pk: [Decimal(0)] * 4 for pk in probability}
    for stage_id, n, amount, without_override, override_weighted in rows:
        acc = sums[stage_id]
        acc[0] += n
        acc[1] += amount or 0
        acc[2] += without_override or 0
        acc[3] += override_weighted or 0
    cent = Decimal("0.01")
    totals = {}
    for pk, (count, amount, without_override, override_weighted) in sums.items():
        weighted = (override_weighted + without_override * probability[pk]) / HUNDRED
        totals[pk] = ColumnTotals(
            count=int(count),
            amount=Decimal(amount).quantize(cent),
            weighted=weighted.quantize(cent),
        )
    return totals


# The columns a card reads: loading whole rows for 200 cards costs more than the query itself.
CARD_FIELDS = (
    "id",
    "title",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "company_id",
    "position",
    "version",
    "stage_entered_at",
    "next_step",
    "stalled",
    "stall_reasons",
    "lost_reason",
)


def with_card_fields(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    """The deal columns a card shows (owner and company come from `attach_card_relations`)."""
    return deals.only(*CARD_FIELDS)


def attach_card_relations(cards: Sequence[Deal], *, known_owners: Iterable[User] = ()) -> None:
    """Set each card's owner, company and next planned activity, one query each at most.

    Owners usually come from the board's owner filter, which loaded them already; companies
    are a handful of names. Joined into the columns' query instead, they made every branch of
    it wider and slower to build.
    """
    owners = {user.pk: user for user in known_owners}
    missing = {card.owner_id for card in cards} - set(owners)
    if missing:
        owners.update(
            (u.pk, u)
            for u in User.objects.filter(pk__in=missing).only(
                "id", "username", "first_name", "last_name"
            )
        )
    company_ids = {card.company_id for card in cards if card.company_id}
    companies = (
        {c.pk: c for c in Company.objects.filter(pk__in=company_ids).only("id", "name")}
        if company_ids
        else {}
    )
    for card in cards:
        card.owner = owners[card.owner_id]
        card.company = companies.get(card.company_id) if card.company_id else None
    attach_next_activities(cards)


def attach_next_activities(cards: Sequence[Deal]) -> None:
    """Set `next_activity_*` on each card: its earliest planned activity, in one query."""
    by_id = {card.pk: card for card in cards}
    for card in cards:
        card.next_activity_subject = None  # type: ignore[attr-defined]
        card.next_activity_kind = None  # type: ignore[attr-defined]
        card.next_activity_due = None  # type: ignore[attr-defined]
    if not by_id:
        return
    planned = (
        Activity.objects.filter(deal_id__in=list(by_id), done_at__isnull=True)
        .order_by("deal_id", F("due_at").asc(nulls_last=True), "id")
        .values_list("deal_id", "subject", "kind", "due_at")
    )
    seen: set[int] = set()
    for deal_id, subject, kind, due in planned:
        if deal_id in seen:
            continue
        seen.add(deal_id)
        card = by_id[deal_id]
        card.next_activity_subject = subject  # type: ignore[attr-defined]
        card.next_activity_kind = kind  # type: ignore[attr-defined]
        card.next_activity_due = due  # type: ignore[attr-defined]


def _column_slice(
    deals: QuerySet[Deal], stage_id: int, status: str, after: tuple[int, int] | None, limit: int
) -> QuerySet[Deal]:
    """One status of one column in board order: an ordered walk of `deal_column_idx`."""
    column = deals.filter(stage_id=stage_id, status=status)
    if after is not None:
        position, pk = after
        # The redundant `position >= p` lets the index scan start at the cursor.
        column = column.filter(position__gte=position).filter(
            Q(position__gt=position) | Q(position=position, pk__gt=pk)
        )
    return with_card_fields(column).order_by("position", "id")[:limit]


def _fetch_columns(
    deals: QuerySet[Deal],
    stage_ids: Sequence[int],
    statuses: Sequence[str],
    after: tuple[int, int] | None,
    limit: int,
    known_owners: Iterable[User] = (),
) -> dict[int, tuple[list[Deal], bool]]:
    """{stage id: (first `limit` cards after the cursor, has more)} for these columns.

    One branch per (column, status), each a LIMIT walk of the index in board order, so no
    branch sorts a whole column; the branches are merged here. One UNION ALL query where the
    database allows LIMIT inside it (PostgreSQL), one query per branch otherwise (SQLite).
    """
    combos = [(pk, status) for pk in stage_ids for status in statuses]
    rows: list[Deal] = []
    if combos and _union_supported():
        proto = _column_slice(deals, _STAGE_SENTINEL, _STATUS_SENTINEL, after, limit + 1)
        sql, params = _replicated_union(proto, combos)
        rows = list(Deal.objects.raw(sql, params))
    else:
        for pk, status in combos:
            rows.extend(_column_slice(deals, pk, status, after, limit + 1))
    by_stage: dict[int, list[Deal]] = {pk: [] for pk in stage_ids}
    for deal in rows:
        by_stage[deal.stage_id].append(deal)
    pages = {}
    for pk, cards in by_stage.items():
        cards.sort(key=lambda d: (d.position, d.pk))
        pages[pk] = (cards[:limit], len(cards) > limit)
    attach_card_relations(
        [card for cards, _ in pages.values() for card in cards], known_owners=known_owners
    )
    return pages


def first_pages(
    deals: QuerySet[Deal],
    stage_ids: Sequence[int],
    page_size: int,
    statuses: Sequence[str],
    known_owners: Iterable[User] = (),
) -> dict[int, tuple[list[Deal], bool]]:
    """The first page of every column: {stage id: (cards, has more)}."""
    return _fetch_columns(deals, stage_ids, statuses, None, page_size, known_owners)


def column_page(
    deals: QuerySet[Deal],
    stage_id: int,
    *,
    statuses: Sequence[str],
    after: tuple[int, int] | None,
    limit: int,
) -> tuple[list[Deal], bool]:
    """One page of one column, after the cursor: (cards, has more)."""
    return _fetch_columns(deals, [stage_id], statuses, after, limit)[stage_id]


def board_page_size() -> int:
    return max(1, int(getattr(settings, "BOARD_PAGE_SIZE", 30)))


@dataclass
class OwnerChoice:
    user: User
    writable: bool

    @property
    def pk(self) -> int:
        return self.user.pk

    @property
    def label(self) -> str:
        return str(self.user)


def owner_choices(user: User) -> list[OwnerChoice]:
    """People whose deals this user may see (for the owner filter), and whose they may change."""
    people = User.objects.only("id", "username", "first_name", "last_name").order_by(
        "first_name", "username"
    )
    if is_admin(user):
        return [OwnerChoice(u, True) for u in people]
    people = people.filter(pk__in=readable_owner_ids(user)).annotate(
        can_write=Exists(writable_owner_ids(user).filter(pk=OuterRef("pk")))
    )
    return [OwnerChoice(u, bool(u.can_write)) for u in people]


# --- deal page --------------------------------------------------------------------------------


@dataclass
class PathStep:
    stage: Stage
    spent: dt.timedelta
    visited: bool
    is_current: bool


def stage_path(
    deal: Deal, stages: Sequence[Stage], changes: Sequence[StageChange]
) -> list[PathStep]:
    """Each stage of the pipeline with the time the deal has spent in it (all visits added)."""
    now = timezone.now()
    spent: dict[int, dt.timedelta] = {}
    ordered = sorted(changes, key=lambda c: (c.at, c.pk))
    for index, change in enumerate(ordered):
        if change.to_stage_id is None:
            continue
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        end = following.at if following else (deal.lost_at or now)
        spent[change.to_stage_id] = spent.get(change.to_stage_id, dt.timedelta()) + (
            end - change.at
        )
    if not ordered:  # a deal made without history (imports, old data): count from stage entry
        spent[deal.stage_id] = (deal.lost_at or now) - deal.stage_entered_at
    return [
        PathStep(
            stage=stage,
            spent=spent.get(stage.pk, dt.timedelta()),
            visited=stage.pk in spent,
            is_current=stage.pk == deal.stage_id,
        )
        for stage in stages
    ]


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # "stage" | "field" | "activity"
    by: Any
    item: Any
    old: str = ""
    new: str = ""


FIELD_LABELS = {
    "amount": "Amount",
    "expected_close_date": "Expected close",
    "probability_override": "Probability",
    "owner": "Owner",
    "status": "Status",
}


def _field_value(name: str, raw: str, users: dict[str, str]) -> str:
    if not raw:
        return "—"
    if name == "owner":
        return users.get(raw, f"user {raw}")
    if name == "probability_override":
        return f"{raw} %"
    if name == "amount":
        from deals.templatetags.board_format import money

        return money(raw)
    return raw


def timeline(deal: Deal, changes: Sequence[StageChange], limit: int = 200) -> list[TimelineEntry]:
    """Stage moves, tracked field changes and activities, newest first."""
    fields = list(
        FieldChange.objects.filter(deal=deal).select_related("by").order_by("-at", "-id")[:limit]
    )
    owner_ids = {
        value for fc in fields if fc.field == "owner" for value in (fc.old_value, fc.new_value)
    }
    users = {
        str(u.pk): str(u) for u in User.objects.filter(pk__in=[v for v in owner_ids if v.isdigit()])
    }
    activities = list(
        Activity.objects.filter(deal=deal, done_at__isnull=False)
        .select_related("owner")
        .order_by("-done_at", "-id")[:limit]
    )
    entries = [TimelineEntry(at=c.at, kind="stage", by=c.by, item=c) for c in changes]
    entries += [
        TimelineEntry(
            at=fc.at,
            kind="field",
            by=fc.by,
            item=fc,
            old=_field_value(fc.field, fc.old_value, users),
            new=_field_value(fc.field, fc.new_value, users),
        )
        for fc in fields
    ]
    entries += [
        TimelineEntry(at=a.done_at, kind="activity", by=a.owner, item=a)
        for a in activities
        if a.done_at is not None
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def planned_activities(deal: Deal) -> list[Activity]:
    return list(
        Activity.objects.filter(deal=deal, done_at__isnull=True)
        .select_related("owner")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )
