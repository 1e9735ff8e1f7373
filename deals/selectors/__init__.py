"""Reads for the board and the deal page (no writes: those are in `deals.services`).

- `filters`: what a board shows (`BoardFilters`, `board_deals`), the owner filter's people
- `columns`: the columns and their pages of cards
- `cards`: what a card reads (its columns, owner, company, next activity)
- `totals`: the column headers (count, total, weighted), `column_headers`
- `deal_page`: the deal page's stage path and timeline

The board's cost does not grow with the number of deals: headers come from running totals or
index-only aggregates per column, cards a page per column from ordered index walks, each card's
next activity from one query over the page's cards.
"""

from deals.selectors.cards import (
    CARD_FIELDS,
    attach_card_relations,
    attach_next_activities,
    one_card,
    with_card_fields,
)
from deals.selectors.columns import Column, column_page, first_pages, page_cursor, parse_cursor
from deals.selectors.deal_page import (
    FIELD_LABELS,
    PathStep,
    TimelineEntry,
    planned_activities,
    stage_path,
    timeline,
)
from deals.selectors.filters import (
    BoardFilters,
    OwnerChoice,
    board_deals,
    board_page_size,
    owner_choices,
    team_choices,
)
from deals.selectors.totals import (
    ColumnTotals,
    column_headers,
    column_totals,
    stored_column_totals,
)

__all__ = [
    "CARD_FIELDS",
    "FIELD_LABELS",
    "BoardFilters",
    "Column",
    "ColumnTotals",
    "OwnerChoice",
    "PathStep",
    "TimelineEntry",
    "attach_card_relations",
    "attach_next_activities",
    "board_deals",
    "board_page_size",
    "column_headers",
    "column_page",
    "column_totals",
    "first_pages",
    "one_card",
    "owner_choices",
    "page_cursor",
    "parse_cursor",
    "planned_activities",
    "stage_path",
    "stored_column_totals",
    "team_choices",
    "timeline",
    "with_card_fields",
]
