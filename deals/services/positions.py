"""Where a card sits in its column: sort keys with gaps, so a move writes one row.

`Deal.position` orders a column (smaller is higher). A card placed between two others takes the
middle of their keys; when two neighbours have no gap left, the column is spread out again.
"""

from __future__ import annotations

from django.db import connection

from accounts.models import User
from deals.models import Deal, Stage

POSITION_GAP = 1024


def column_edge(stage: Stage, *, top: bool) -> int | None:
    """The smallest (top) or largest sort key of a column, or None when it is empty.

    One probe of `deal_column_idx` (stage, status, position) per status: a MIN/MAX over the
    stage alone would read every deal of the column, which a 100,000-deal board cannot afford
    on each move. Written as SQL: composing the same three probes through the ORM took longer
    than the database takes to answer them, on every move.
    """
    table = connection.ops.quote_name(Deal._meta.db_table)
    direction, edge = ("ASC", "MIN") if top else ("DESC", "MAX")
    probe = (
        f"SELECT (SELECT position FROM {table} WHERE stage_id = %s AND status = %s "
        f"ORDER BY position {direction} LIMIT 1) AS edge"
    )
    statuses = Deal.Status.values
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {edge}(edge) FROM ({' UNION ALL '.join([probe] * len(statuses))}) AS edges",
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


def renumber_column(stage: Stage) -> None:
    """Spread a column's sort keys out again when two neighbours have no gap left (rare)."""
    ids = list(
        Deal.objects.filter(stage=stage).order_by("position", "id").values_list("pk", flat=True)
    )
    rows = [Deal(pk=pk, position=(i + 1) * POSITION_GAP) for i, pk in enumerate(ids)]
    Deal.objects.bulk_update(rows, ["position"], batch_size=1000)


def position_at_index(stage: Stage, index: int, *, viewer: User, moving: Deal) -> int:
    """A sort key that puts `moving` at `index` of the column as `viewer` sees it (0 = top)."""
    index = max(0, int(index))
    column = (
        Deal.objects.visible_to(viewer)
        .filter(stage=stage)
        .exclude(status=Deal.Status.LOST)
        .exclude(pk=moving.pk)
        .order_by("position", "id")
    )
    if index == 0:  # above every card of the column, seen or not: one index probe
        return top_position(stage)
    for _attempt in range(2):
        neighbours = list(column.values_list("position", flat=True)[index - 1 : index + 1])
        if not neighbours:
            return bottom_position(stage)
        if len(neighbours) == 1:
            return neighbours[0] + POSITION_GAP
        before, after = neighbours
        if after - before > 1:
            return before + (after - before) // 2
        renumber_column(stage)
    return bottom_position(stage)


def resolve_position(stage: Stage, position: int | None, *, viewer: User, moving: Deal) -> int:
    if position is None:
        return top_position(stage) if moving.stage_id != stage.pk else moving.position
    return position_at_index(stage, position, viewer=viewer, moving=moving)
