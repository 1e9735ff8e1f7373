"""Where a card sits in its column: sort keys with gaps, so a move writes one row.

`Deal.position` orders a column (smaller is higher; the id breaks a tie). A drop names the card
it landed under (`after`) or, at the top of a column, the card it landed above (`before`); the
deal takes the middle of that anchor's key and its neighbour's. When they have no gap left the
cards around them are spread out again (`respace_around`; rare).

What "next to the anchor" means when the board hides deals (filters, other teams' deals, lost
ones): the neighbour is the next deal of the whole column, seen or not, so the deal lands right
below the anchor (or right above it) and any hidden deal that followed the anchor now follows
the moved deal. Among the deals the mover sees it is exactly between the two cards of the drop.
The anchor itself must be a deal the mover can see in the target column: a hidden one would
tell them where, and that, it is.

Placing is serialized per column (`lock_column`, until the transaction ends): two deals
dropped on top of one column at once would otherwise both read the same top key and take the
same new one (bench/load.py found it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection

from accounts.models import User
from deals.models import Deal, Stage
from pipeline_crm.db import serialize_on
from pipeline_crm.errors import DomainError

POSITION_GAP = 1024


def lock_column(stage: Stage) -> None:
    """Wait for any other transaction placing a deal in this column, then hold the column
    until this one ends, so each placement reads the keys the previous one wrote."""
    serialize_on("deal-column", stage.pk)


def column_edge(stage: Stage, *, top: bool) -> int | None:
    """The smallest (top) or largest sort key of a column, or None when it is empty.

    One probe of `deal_column_idx` (stage, status, position) per status: a MIN/MAX over the
    stage alone would read every deal of the column, which a 100,000-deal board cannot afford
    on each move. Written as SQL: composing the same three probes through the ORM took longer
    than the database takes to answer them, on every move.
    """
    lock_column(stage)
    table = connection.ops.quote_name(Deal._meta.db_table)
    direction, edge = ("ASC", "MIN") if top else ("DESC", "MAX")
    # Only the quoted table name and fixed keywords are interpolated; the values are parameters.
    probe = (
        f"SELECT (SELECT position FROM {table} WHERE stage_id = %s AND status = %s "  # noqa: S608
        f"ORDER BY position {direction} LIMIT 1) AS edge"
    )
    statuses = Deal.Status.values
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {edge}(edge) FROM ({' UNION ALL '.join([probe] * len(statuses))}) AS edges",  # noqa: S608
            [value for status in statuses for value in (stage.pk, status)],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def top_position(stage: Stage) -> int:
    lowest = column_edge(stage, top=True)
    return 0 if lowest is None else lowest - POSITION_GAP


def bottom_position(stage: Stage) -> int:
    return positions_below(column_edge(stage, top=False), 1)[0]


def positions_below(bottom: int | None, count: int) -> range:
    """`count` sort keys, POSITION_GAP apart, under a column's bottom card (`bottom`: its key,
    None when the column is empty)."""
    start = 0 if bottom is None else bottom + POSITION_GAP
    return range(start, start + count * POSITION_GAP, POSITION_GAP)


# Respacing a crowded spot takes this many cards on each side of it first, four times as many
# each time the keys between their outer neighbours leave less than MIN_RESPACED_GAP apiece.
RESPACE_REACH = 16
MAX_RESPACE_REACH = 4096
MIN_RESPACED_GAP = 64


def respace_around(stage: Stage, key: int) -> None:
    """Spread out the sort keys of the cards around `key` when two neighbours there have no gap
    left: the few cards nearest to it share evenly the keys between the cards just outside
    them (or as much room as they need where the column ends), so a drop rewrites a few dozen
    rows, not the column (100,000-deal columns took seconds, every other move into the column
    waiting). Only when no stretch of the column has room is it renumbered whole."""
    reach = RESPACE_REACH
    while reach <= MAX_RESPACE_REACH:
        above = _keys_from(stage, key, upward=True, count=reach + 1)
        below = _keys_from(stage, key, upward=False, count=reach + 1)
        window = [*reversed(above[:reach]), *below[:reach]]
        low = above[reach][0] if len(above) > reach else window[0][0] - len(window) * POSITION_GAP
        high = below[reach][0] if len(below) > reach else window[-1][0] + len(window) * POSITION_GAP
        spacing = (high - low) // (len(window) + 1)
        if spacing >= MIN_RESPACED_GAP:
            rows = [
                Deal(pk=pk, position=low + spacing * (i + 1)) for i, (_, pk) in enumerate(window)
            ]
            Deal.objects.filter(stage=stage).bulk_update(rows, ["position"], batch_size=1000)
            return
        reach *= 4
    renumber_column(stage)


def _keys_from(stage: Stage, key: int, *, upward: bool, count: int) -> list[tuple[int, int]]:
    """(sort key, id) of up to `count` cards of the column from `key` on, nearest first:
    upward those above it (smaller keys), downward it and those below. Each status's cards
    are walked from the column index (stage, status, position, id) and the walks merged."""
    if upward:
        near = Deal.objects.filter(position__lt=key).order_by("-position", "-id")
    else:
        near = Deal.objects.filter(position__gte=key).order_by("position", "id")
    found = [
        row
        for status in Deal.Status.values
        for row in near.filter(stage=stage, status=status).values_list("position", "id")[:count]
    ]
    found.sort(reverse=upward)
    return found[:count]


def renumber_column(stage: Stage) -> None:
    """Spread a whole column's sort keys out again (when no stretch of it has room left)."""
    ids = list(
        Deal.objects.filter(stage=stage).order_by("position", "id").values_list("pk", flat=True)
    )
    rows = [Deal(pk=pk, position=(i + 1) * POSITION_GAP) for i, pk in enumerate(ids)]
    # Only deals still in the column: one leaving it now (row locked by its move, which holds
    # the other column's lock, not this one's) is skipped when its row frees, instead of
    # taking a key of this column into its new one.
    Deal.objects.filter(stage=stage).bulk_update(rows, ["position"], batch_size=1000)


def place(
    deal: Deal,
    stage: Stage,
    *,
    viewer: User,
    after_id: int | None = None,
    before_id: int | None = None,
) -> int:
    """The sort key that puts `deal` in `stage` right below the card `after_id`, or right above
    the card `before_id`. With neither: on top of a column it enters, where it is in its own.

    An anchor the viewer cannot see, in another column, or the deal itself is refused
    (`DomainError`), and so is naming both.
    """
    if after_id is not None and before_id is not None:
        raise DomainError("Place the card after one card or before one, not both.", field="before")
    below = after_id is not None
    anchor_id = after_id if below else before_id
    if anchor_id is None:
        return top_position(stage) if deal.stage_id != stage.pk else deal.position
    anchor, neighbour = _anchor_and_neighbour(
        stage, anchor_id, viewer=viewer, moving=deal, below=below
    )
    if neighbour is not None and abs(neighbour - anchor) <= 1:  # no room left between them
        respace_around(stage, anchor)
        anchor, neighbour = _anchor_and_neighbour(
            stage, anchor_id, viewer=viewer, moving=deal, below=below
        )
    if neighbour is None:  # the anchor is the column's last (or first) card
        return anchor + POSITION_GAP if below else anchor - POSITION_GAP
    low, high = sorted((anchor, neighbour))
    return low + (high - low) // 2


def _anchor_and_neighbour(
    stage: Stage, anchor_id: int, *, viewer: User, moving: Deal, below: bool
) -> tuple[int, int | None]:
    """The anchor's sort key and the nearest one below it (or above it), in one statement.

    The anchor is read through the viewer's visibility (`visible_to`); each neighbour probe
    walks `deal_column_idx` (stage, status, position, id) from the anchor and stops at the
    first row, so the cost does not depend on the column's size. The probes are SQL around
    the anchor's query: built through the ORM (three correlated subqueries) they took several
    times longer to compose than the database takes to answer them.
    """
    lock_column(stage)
    anchor = (
        Deal.objects.visible_to(viewer)
        .filter(pk=anchor_id, stage_id=stage.pk)
        .exclude(pk=moving.pk)
        .order_by()
        .values("id", "position")
    )
    try:
        anchor_sql, anchor_params = anchor.query.sql_with_params()
        row = _probe_neighbours(anchor_sql, anchor_params, stage, moving, below)
    except EmptyResultSet:  # a viewer who sees nothing
        row = None
    if row is None:
        field = "after" if below else "before"
        raise DomainError("Drop the card next to a card of that column.", field=field)
    anchor_position, *found = row
    keys = [int(key) for key in found if key is not None]
    if not keys:
        return int(anchor_position), None
    return int(anchor_position), min(keys) if below else max(keys)


def _probe_neighbours(
    anchor_sql: str, anchor_params: Sequence[Any], stage: Stage, moving: Deal, below: bool
) -> tuple[Any, ...] | None:
    """(anchor's key, the nearest key beyond it of each status) for the anchor `anchor_sql`
    selects as (id, position); None when it selects no row."""
    table = connection.ops.quote_name(Deal._meta.db_table)
    beyond, order = (">", "ASC") if below else ("<", "DESC")
    # Only the quoted table name and fixed operators are interpolated; the values are
    # parameters. The redundant `position >= anchor` lets the index scan start at the anchor.
    probe = (
        f"(SELECT n.position FROM {table} n WHERE n.stage_id = %s AND n.status = %s"  # noqa: S608
        f" AND n.id <> %s AND n.position {beyond}= a.position"
        f" AND (n.position {beyond} a.position OR n.id {beyond} a.id)"
        f" ORDER BY n.position {order}, n.id {order} LIMIT 1)"
    )
    statuses = Deal.Status.values
    probes = ", ".join([probe] * len(statuses))
    params = [value for status in statuses for value in (stage.pk, status, moving.pk)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.position, {probes} FROM ({anchor_sql}) a",  # noqa: S608
            [*params, *anchor_params],
        )
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def deal_ids_around_index(
    stage: Stage, index: int, *, viewer: User, moving: Deal
) -> tuple[int | None, int | None]:
    """(after_id, before_id) for `place` that put `moving` at `index` of the column as `viewer`
    sees it (0 = top; lost deals left out, as the API counts): the card at index - 1, the first
    card for index 0, the last one for an index past the end. (None, None) when the viewer sees
    no other card there.

    An index is a count, so this walks the column up to it: the API's `position` needs that;
    the board names the card of the drop instead.
    """
    column = (
        Deal.objects.visible_to(viewer)
        .filter(stage=stage)
        .exclude(status=Deal.Status.LOST)
        .exclude(pk=moving.pk)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    if index <= 0:
        return None, column.first()
    at_index = list(column[index - 1 : index])
    return (at_index[0] if at_index else column.last()), None
