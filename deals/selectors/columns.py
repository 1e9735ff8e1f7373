"""The board's columns and their pages of cards.

A column is a stage; its cards are its deals of the statuses the board shows, in board order
(position, then id). A page of a column is one ordered walk of `deal_column_idx` (stage, status,
position, id) per status, stopping after the page, so no column is ever sorted whole; the
statuses' walks are merged here. All the columns' first pages are one statement on PostgreSQL
(`pipeline_crm.db.objects_for_each`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from deals.models import Deal, Stage
from deals.selectors.cards import attach_card_relations, with_card_fields
from deals.selectors.totals import ColumnTotals
from pipeline_crm.db import objects_for_each
from pipeline_crm.ids import parse_id, parse_int

# A page: the cards and whether the column has more after them.
Page = tuple[list[Deal], bool]


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
    """ "<position>:<id>" → (position, id); anything else, or a number outside PostgreSQL's
    bigint, → None (start from the top)."""
    position_text, _, pk_text = (raw or "").partition(":")
    negative = position_text.startswith("-")  # positions may be below zero
    position = parse_int(position_text.removeprefix("-"))
    pk = parse_id(pk_text)
    if position is None or pk is None:
        return None
    return (-position if negative else position), pk


def _column_walk(
    deals: QuerySet[Deal], stage_id: Any, status: Any, after: tuple[int, int] | None, limit: int
) -> QuerySet[Deal]:
    """Up to `limit` cards of one status of one column after the cursor, in board order."""
    column = deals.filter(stage_id=stage_id, status=status)
    if after is not None:
        position, pk = after
        # The redundant `position >= p` lets the index scan start at the cursor.
        column = column.filter(position__gte=position).filter(
            Q(position__gt=position) | Q(position=position, pk__gt=pk)
        )
    return with_card_fields(column).order_by("position", "id")[:limit]


def _pages(
    deals: QuerySet[Deal],
    stage_ids: Sequence[int],
    statuses: Sequence[str],
    after: tuple[int, int] | None,
    limit: int,
) -> dict[int, Page]:
    """{stage id: (up to `limit` cards after the cursor, has more)} for these columns."""
    walks = [(stage_id, status) for stage_id in stage_ids for status in statuses]
    found = objects_for_each(
        walks, lambda stage_id, status: _column_walk(deals, stage_id, status, after, limit + 1)
    )
    by_stage: dict[int, list[Deal]] = {stage_id: [] for stage_id in stage_ids}
    for deal in found:
        by_stage[deal.stage_id].append(deal)
    pages = {}
    for stage_id, cards in by_stage.items():
        cards.sort(key=lambda deal: (deal.position, deal.pk))
        pages[stage_id] = (cards[:limit], len(cards) > limit)
    return pages


def first_pages(
    deals: QuerySet[Deal],
    stage_ids: Sequence[int],
    page_size: int,
    statuses: Sequence[str],
    *,
    viewer: User,
    known_owners: Iterable[User] = (),
) -> dict[int, Page]:
    """The first page of every column, with the cards' owners, companies and next activities:
    {stage id: (cards, has more)}."""
    pages = _pages(deals, stage_ids, statuses, None, page_size)
    cards = [card for cards, _ in pages.values() for card in cards]
    attach_card_relations(cards, viewer=viewer, known_owners=known_owners)
    return pages


def column_page(
    deals: QuerySet[Deal],
    stage_id: int,
    *,
    statuses: Sequence[str],
    after: tuple[int, int] | None,
    limit: int,
    viewer: User,
) -> Page:
    """One page of one column, after the cursor: (cards, has more)."""
    cards, has_more = _pages(deals, [stage_id], statuses, after, limit)[stage_id]
    attach_card_relations(cards, viewer=viewer)
    return cards, has_more
