"""Column headers of the board: count, total and weighted amount of each column's deals.

`column_headers` answers them, for the whole board and for the headers redrawn after a change:
- from the running totals PostgreSQL keeps (`ColumnTotal`, triggers of migration deals 0010)
  when only owner and status narrow the board: a few dozen rows summed, however many deals;
- otherwise (a text, stalled or close date filter; SQLite, which keeps no running totals) by
  counting the deals: one aggregate per column, which reads the covering index
  `deal_board_totals_idx` (pipeline, stage, status, owner, amount, probability_override) alone
  unless a filter needs other columns of the deals.

Counted totals are not cached. A cache keyed on the board's live version is emptied by every
change on the board, so a busy board pays the count anyway, and the first look at a filter
always did (at 100,000 deals with a close-date filter: 70-75 ms at best on the loaded 2-core
bench machine, rep or admin; the default board never counts).

Money is added up in the reporting currency (SPEC §9): both ways sum each column per currency,
read each currency's rate in effect today in the same query (`currencies.selectors.
rate_in_effect`: no query of its own) and convert each currency's sums before adding them. The
count covers every deal (every card); deals in a currency without a rate are reported as
`unconverted` (the header warns) instead of being added as if they were in another currency.

Weighted = Σ amount × effective probability / 100 (`deals.models.effective_probability`). The
running totals keep the deals without an override apart, weighted here by their stage's
probability, which an admin may change at any time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, QuerySet, Sum

from accounts.models import User
from currencies.selectors import (
    Unconverted,
    converted,
    merged,
    rate_in_effect,
    reporting_currency,
)
from deals.models import ColumnTotal, Deal, Pipeline, Stage, effective_probability
from deals.selectors.filters import BoardFilters, board_deals
from pipeline_crm.db import keeps_running_totals, values_for_each

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


# One currency's sums in a column: currency, its rate in effect (`rate_in_effect`), count,
# Σ amount, Σ amount × probability (%).
CurrencySums = tuple[str, Any, Any, Any, Any]


@dataclass
class ColumnTotals:
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    unconverted: list[Unconverted] = field(default_factory=list)  # left out: no rate
    currency: str = field(default_factory=reporting_currency)  # of amount and weighted

    @classmethod
    def of(cls, count: Any, amount: Any, amount_times_probability: Any) -> ColumnTotals:
        """From sums over some deals: their count, Σ amount and Σ amount × probability (%)."""
        return cls(
            count=int(count or 0),
            amount=Decimal(amount or 0).quantize(CENT),
            weighted=(Decimal(amount_times_probability or 0) / HUNDRED).quantize(CENT),
        )

    @classmethod
    def converted(cls, sums: Iterable[CurrencySums]) -> ColumnTotals:
        """From a column's sums per currency, each converted to the reporting currency."""
        count, amount, weighted, left_out = 0, Decimal(0), Decimal(0), []
        for currency, rate, n, amount_sum, weighted_sum in sums:
            count += int(n or 0)
            in_reporting = converted(amount_sum, currency, rate)
            if in_reporting is None:
                left_out.append(Unconverted(currency, int(n or 0), Decimal(amount_sum or 0)))
                continue
            amount += in_reporting
            weighted += converted(weighted_sum, currency, rate) or Decimal(0)
        totals = cls.of(count, amount, weighted)
        totals.unconverted = left_out
        return totals

    @classmethod
    def added(cls, columns: Iterable[ColumnTotals]) -> ColumnTotals:
        """The totals of these columns together (the whole pipeline's, from its columns')."""
        total = cls()
        left_out = []
        for column in columns:
            total.count += column.count
            total.amount += column.amount
            total.weighted += column.weighted
            left_out.append(column.unconverted)
        total.unconverted = merged(left_out)
        return total


def _per_column(
    stages: Sequence[Stage], rows: Iterable[tuple[Any, ...]]
) -> dict[int, ColumnTotals]:
    """Rows of (stage id, currency, rate, count, Σ amount, Σ amount × %) as each column's
    totals."""
    by_stage: dict[int, list[CurrencySums]] = defaultdict(list)
    for stage_id, currency, rate, n, amount, weighted in rows:
        by_stage[stage_id].append((currency, rate, n, amount, weighted))
    found = {stage_id: ColumnTotals.converted(sums) for stage_id, sums in by_stage.items()}
    return _every_column(stages, found)


def column_headers(
    user: User,
    pipeline: Pipeline,
    filters: BoardFilters,
    stages: Sequence[Stage],
    *,
    visible_owner_ids: Sequence[int] | None = None,
) -> dict[int, ColumnTotals]:
    """{stage id: its column's totals} for these columns of the user's filtered board.

    `visible_owner_ids`: see `board_deals`."""
    stored = stored_column_totals(user, filters, stages)
    if stored is not None:
        return stored
    deals = board_deals(user, pipeline, filters, visible_owner_ids)
    return column_totals(deals, stages, filters.statuses())


def column_totals(
    deals: QuerySet[Deal],
    stages: Iterable[Stage],
    statuses: Sequence[str],
) -> dict[int, ColumnTotals]:
    """Count, amount and weighted amount of these deals in each column, by counting them.

    Each column's query is given its stage's probability (as `effective_probability` allows)
    rather than joining the stage table for it: 15 % faster at 100,000 deals."""
    stages = list(stages)

    def sums(stage_id: Any, probability: Any) -> QuerySet[Any, tuple[Any, ...]]:
        return (
            deals.filter(stage_id=stage_id, status__in=statuses)
            .order_by()
            .values("stage_id", "currency")
            .annotate(
                n=Count("*"),
                amount_sum=Sum("amount"),
                weighted_sum=Sum(F("amount") * effective_probability(probability)),
                rate=rate_in_effect(),
            )
            .values_list("stage_id", "currency", "rate", "n", "amount_sum", "weighted_sum")
        )

    rows = values_for_each([(stage.pk, stage.probability) for stage in stages], sums)
    return _per_column(stages, rows)


def stored_column_totals(
    user: User, filters: BoardFilters, stages: Sequence[Stage]
) -> dict[int, ColumnTotals] | None:
    """The columns' totals from the running totals PostgreSQL keeps (`ColumnTotal`). None when
    the filters need the deals themselves (text, stalled, close dates) or where no running
    totals are kept (SQLite)."""
    if not keeps_running_totals() or not filters.kept_in_totals:
        return None
    rows = (
        ColumnTotal.objects.visible_to(user)
        .filter(
            filters.owner_condition(user),
            stage_id__in=[stage.pk for stage in stages],
            status__in=filters.statuses(),
        )
        .order_by()
        .values("stage_id", "currency")
        .annotate(
            n=Sum("deals"),
            amount=Sum("amount_sum"),
            without_override=Sum("amount_without_override"),
            override_weighted=Sum("override_weighted"),
            rate=rate_in_effect(),
        )
        .values_list(
            "stage_id", "currency", "rate", "n", "amount", "without_override", "override_weighted"
        )
    )
    probability = {stage.pk: stage.probability for stage in stages}
    weighted = [
        (stage_id, currency, rate, n, amount, (ow or 0) + (without or 0) * probability[stage_id])
        for stage_id, currency, rate, n, amount, without, ow in rows
    ]
    return _per_column(stages, weighted)


def _every_column(
    stages: Sequence[Stage], found: dict[int, ColumnTotals]
) -> dict[int, ColumnTotals]:
    """Every column's totals: zero (to the cent, as shown) where no deal was found."""
    return {stage.pk: found.get(stage.pk) or ColumnTotals.of(0, 0, 0) for stage in stages}
