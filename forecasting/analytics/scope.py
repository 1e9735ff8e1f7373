"""What every figure starts from: the viewer's scope, days as time ranges, money and rates, and
the PostgreSQL settings the big scans run under."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DecimalField, F, QuerySet, Sum
from django.db.models.expressions import Combinable
from django.db.models.functions import TruncMonth, TruncQuarter
from django.utils import timezone

from currencies.selectors import (
    Unconverted,
    converted_amount,
    rates_in_effect,
    reporting_currency,
    unconverted,
)
from deals.models import ColumnTotal, Deal
from forecasting.models import (
    BacktestPart,
    ClosedDay,
    ForecastSnapshot,
    MoveDay,
    PipelineDay,
    StageFlowDay,
)
from pipeline_crm.db import is_postgresql, keeps_running_totals

if TYPE_CHECKING:
    from accounts.models import Team, User
    from deals.models import Pipeline

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SECONDS_PER_DAY = 86400

# Σ amount × probability (a percent) before dividing by 100, and a probability in percent.
PRODUCT = DecimalField(max_digits=30, decimal_places=6)
PERCENT = DecimalField(max_digits=9, decimal_places=4)

Row = Mapping[str, Any]  # one row of a .values() query

# Every scoped deal and snapshot carries its amount in the scope's currency under this alias
# (`amount_of`): sum it, never "amount", so amounts are converted before they are added up.
MONEY = "money"
# The running counts of the pipeline on a day also carry, converted like MONEY, the amount of
# the deals without a probability override (weighted by their stage when read) and the others'
# Σ amount × override.
WEIGHABLE, WEIGHTED = "money_without_override", "money_override_weighted"


def money(value: Decimal | int | None) -> Decimal:
    """Round to cents (half up), the way money is shown and sent."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def rate(numerator: int | Decimal, denominator: int | Decimal | None) -> float | None:
    """A share 0–1 rounded to four places, or None when there is nothing to divide by."""
    if not denominator:
        return None
    return float((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001")))


def per_hundred(value: Decimal | None) -> Decimal:
    """A Σ amount × percent back to money (nothing summed: zero)."""
    return (value or Decimal(0)) / HUNDRED


# --- scope: who looks at which deals -------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The viewer and the dashboard's filters. Every query starts from what `user` may see."""

    user: User
    pipeline: Pipeline | None = None
    team: Team | None = None
    owner: User | None = None
    currency: str = ""  # "": every currency, converted to the reporting one

    @property
    def currency_code(self) -> str:
        """The currency the scope's figures are given in."""
        return self.currency or reporting_currency()


def amount_of(scope: Scope, field: str = "amount") -> Combinable:
    """SQL: a deal's or snapshot's amount as the scope adds it up. A scope of one currency
    keeps only that currency's records and sums their amounts as they are; a scope of every
    currency (`currency=""`) converts each amount to the reporting currency at today's rate
    (`currencies.selectors`: the one converter)."""
    if scope.currency:
        return F(field)
    return converted_amount(field)


def unconverted_in(scope: Scope) -> list[Unconverted]:
    """The deals a scope of every currency leaves out for want of an exchange rate, per
    currency (one query; none when the scope is one currency): what the warning shows."""
    if scope.currency:
        return []
    if keeps_running_totals():
        # The board's running totals hold every deal by owner, stage and currency: a few
        # hundred rows to add up instead of every deal in scope.
        totals = ColumnTotal.objects.visible_to(scope.user)
        narrowed = _narrowed(totals, scope, pipeline="stage__pipeline")
        return unconverted(narrowed, count=Sum("deals"), amount="amount_sum")
    return unconverted(_narrowed(Deal.objects.visible_to(scope.user), scope))


# Records that have an owner and a currency, which a scope narrows.
type Scoped = (
    Deal
    | ForecastSnapshot
    | StageFlowDay
    | ClosedDay
    | ColumnTotal
    | PipelineDay
    | MoveDay
    | BacktestPart
)


def _narrowed[Owned: Scoped](
    records: QuerySet[Owned], scope: Scope, *, pipeline: str = "pipeline"
) -> QuerySet[Owned]:
    """`records` (already visible to the viewer) in the scope's pipeline (reached through
    `pipeline`), team, owner."""
    if scope.pipeline is not None:
        records = records.filter(**{pipeline: scope.pipeline})
    return _of_owners(records, scope)


def _of_owners[Owned: Scoped](records: QuerySet[Owned], scope: Scope) -> QuerySet[Owned]:
    """`records` (already visible to the viewer) of the scope's team and owner."""
    if scope.team is not None:
        records = records.filter(owner__in=scope.team.members.values("pk"))
    if scope.owner is not None:
        records = records.filter(owner=scope.owner)
    return records.order_by()


def _counted[Owned: (Deal, ForecastSnapshot, ClosedDay, PipelineDay, MoveDay)](
    records: QuerySet[Owned], scope: Scope, **amounts: str
) -> QuerySet[Owned]:
    """`records` narrowed to the scope, in its currency (every currency with a rate when the
    scope is every currency: the others are left out whole, counts too, and reported by
    `unconverted_in`), with the amount the scope adds up annotated as `MONEY` (and each of
    `amounts`, alias: field, likewise)."""
    records = narrowed_in_currency(records, scope)
    if scope.currency:
        return records.annotate(**{MONEY: F("amount")}, **{a: F(f) for a, f in amounts.items()})
    rates = rates_in_effect()
    converted = {alias: rates.expression(field) for alias, field in amounts.items()}
    return records.annotate(**{MONEY: rates.expression("amount")}, **converted)


def _in_currency[Owned: Scoped](records: QuerySet[Owned], scope: Scope) -> QuerySet[Owned]:
    """`records` of the scope's currency (of every currency with a rate when the scope is every
    currency)."""
    if scope.currency:
        return records.filter(currency=scope.currency)
    return records.filter(currency__in=list(rates_in_effect().per_unit))


def narrowed_in_currency[Owned: Scoped](records: QuerySet[Owned], scope: Scope) -> QuerySet[Owned]:
    """`records` (already visible to the viewer) narrowed to the scope and its currencies,
    their amounts as they are, each in its own currency."""
    return _in_currency(_narrowed(records, scope), scope)


def scoped_backtest_parts(scope: Scope) -> QuerySet[BacktestPart]:
    """The stored backtest's parts of the scope's owners (by the owner at the period's start)
    and currencies; their backtest says the pipeline."""
    return _in_currency(_of_owners(BacktestPart.objects.visible_to(scope.user), scope), scope)


def scoped_deals(scope: Scope) -> QuerySet[Deal]:
    """Deals the viewer may see, narrowed by pipeline, team, owner and currency."""
    return _counted(Deal.objects.visible_to(scope.user), scope)


def scoped_flow_days(scope: Scope) -> QuerySet[StageFlowDay]:
    """The funnel's running counts under the same rule (the deals' current owner, pipeline and
    currency: what the triggers keep them under)."""
    return narrowed_in_currency(StageFlowDay.objects.visible_to(scope.user), scope)


def scoped_closed_days(scope: Scope) -> QuerySet[ClosedDay]:
    """The closed deals' running sums under the same rule, their amount as `MONEY`."""
    return _counted(ClosedDay.objects.visible_to(scope.user), scope)


def scoped_column_totals(scope: Scope) -> QuerySet[ColumnTotal]:
    """The board's running totals per stage (deals.ColumnTotal) of the scope's owners and
    currencies; they have no pipeline: filter by its stages."""
    return _in_currency(_of_owners(ColumnTotal.objects.visible_to(scope.user), scope), scope)


def currencies_in_use(user: User) -> list[str]:
    """The currencies of the deals `user` may see, and the default one, in one query: what the
    dashboard's currency filter offers (the default first)."""
    default = str(settings.DEFAULT_CURRENCY)
    # PostgreSQL: from the board's running totals (a row per owner, stage, status and
    # currency), not every deal.
    records: QuerySet[Deal] | QuerySet[ColumnTotal] = (
        ColumnTotal.objects.visible_to(user).filter(deals__gt=0)
        if keeps_running_totals()
        else Deal.objects.visible_to(user)
    )
    found = (
        records.exclude(currency=default)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    return [default, *found]


def scoped_snapshots(scope: Scope) -> QuerySet[ForecastSnapshot]:
    """Snapshots under the same rule, using the owner and pipeline the deal had that day."""
    return _counted(ForecastSnapshot.objects.visible_to(scope.user), scope)


def scoped_pipeline_days(scope: Scope) -> QuerySet[PipelineDay]:
    """The running counts of the pipeline rebuilt from history (`PipelineDay`) under the same
    rule, by the deals' current pipeline, owner and currency; their amounts to weigh by the
    stage and their weighted amounts converted too (`WEIGHABLE`, `WEIGHTED`)."""
    days = PipelineDay.objects.visible_to(scope.user)
    amounts = {WEIGHABLE: "amount_without_override", WEIGHTED: "override_weighted"}
    return _counted(days, scope, **amounts)


def scoped_move_days(scope: Scope) -> QuerySet[MoveDay]:
    """The running counts behind movement (`MoveDay`) under the same rule, by the deals'
    current pipeline, owner and currency."""
    return _counted(MoveDay.objects.visible_to(scope.user), scope)


def running_counts_kept() -> bool:
    """Whether the running counts answer this request: PostgreSQL keeps them (the funnel's,
    the pipeline on a day's and movement's: migrations forecasting 0004 and 0005) by the local
    days of settings.TIME_ZONE, so they do when that is the request's time zone too."""
    return is_postgresql() and timezone.get_current_timezone_name() == str(settings.TIME_ZONE)


# --- days and periods ----------------------------------------------------------------------------


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the day after `last`) in the current time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def as_date(value: Any) -> dt.date | None:
    """A day (or None) from what a database returns for a date: a date, a datetime (truncated
    dates on some databases) or ISO text (raw SQL on SQLite)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def parse_day(value: Any) -> dt.date:
    """`as_date` of a value that is never NULL."""
    day = as_date(value)
    if day is None:
        raise ValueError("A day was expected, not NULL.")
    return day


def trunc_period(kind: str) -> type[TruncMonth] | type[TruncQuarter]:
    """The database function truncating a date to the first day of its month or quarter."""
    return TruncQuarter if kind == "quarter" else TruncMonth


# --- PostgreSQL settings for the big scans -------------------------------------------------------


@contextmanager
def _local_settings(*statements: str) -> Iterator[None]:
    """On PostgreSQL, run the block in a transaction under these SET LOCAL settings (they end
    with it); elsewhere, just run it."""
    if not is_postgresql():
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        yield


def roomy_sort() -> AbstractContextManager[None]:
    """History queries sort or hash hundreds of thousands of rows: on PostgreSQL, give them the
    memory to do it without spilling to disk, for that query's transaction only."""
    return _local_settings("SET LOCAL work_mem = '128MB'", "SET LOCAL jit = off")


def without_jit() -> AbstractContextManager[None]:
    """PostgreSQL compiles big aggregates to machine code first (JIT); for these scans that
    costs more (~250 ms at 1M deals) than it saves, so it is switched off for them only."""
    return _local_settings("SET LOCAL jit = off")
