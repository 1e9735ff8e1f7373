"""Forecast and pipeline analytics (SPEC §7): read-only functions over visible querysets.

Every figure is aggregated in the database; Python only adds up a handful of per-group rows,
divides and rounds. The dashboard, its CSV exports and the API all call these functions, so
they always agree.

Rules worth knowing:
- A deal's probability is its override, else its stage's probability: the configured one, or
  the learned one (share of closed deals that reached the stage and were won) when asked for
  and when at least `MIN_LEARNED_SAMPLE` closed deals stand behind it.
- Categories of open deals (disjoint, so they stack): commit = probability ≥ 70 % or a stage
  flagged commit; best case = probability ≥ 40 %; pipeline = the rest. Category figures are
  plain amounts; `weighted` is Σ amount × probability.
- Money is summed per currency: a scope covers one currency (the default one unless chosen).
- Open deals without a close date are left out of the periods and reported as `unscheduled`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    DurationField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    NullIf,
    TruncDate,
    TruncMonth,
    TruncQuarter,
)
from django.utils import timezone

from accounts.models import Team, User
from accounts.visibility import is_admin, readable_owner_ids
from deals.models import Deal, FieldChange, Pipeline, Stage, StageChange
from forecasting import periods
from forecasting.models import ForecastSnapshot, Quota

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
COMMIT_MIN_PROBABILITY = 70
BEST_CASE_MIN_PROBABILITY = 40
MIN_LEARNED_SAMPLE = 30
DEFAULT_FUNNEL_DAYS = 90
WATCHLIST_LIMIT = 25
SECONDS_PER_DAY = 86400

PRODUCT = DecimalField(max_digits=30, decimal_places=6)
PERCENT = DecimalField(max_digits=9, decimal_places=4)


def money(value: Decimal | int | None) -> Decimal:
    """Round to cents (half up), the way money is shown and sent."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def rate(numerator: int | Decimal, denominator: int | Decimal) -> float | None:
    """A share 0–1 rounded to four places, or None when there is nothing to divide by."""
    if not denominator:
        return None
    return float((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001")))


# --- scope: who looks at which deals -------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The viewer and the dashboard's filters. Every query starts from what `user` may see."""

    user: User
    pipeline: Pipeline | None = None
    team: Team | None = None
    owner: User | None = None
    currency: str = ""

    @property
    def currency_code(self) -> str:
        return self.currency or settings.DEFAULT_CURRENCY


def scoped_deals(scope: Scope) -> QuerySet[Deal]:
    """Deals the viewer may see, narrowed by pipeline, team, owner and currency."""
    deals = Deal.objects.visible_to(scope.user).filter(currency=scope.currency_code)
    if scope.pipeline is not None:
        deals = deals.filter(pipeline=scope.pipeline)
    if scope.team is not None:
        deals = deals.filter(owner__in=scope.team.members.values("pk"))
    if scope.owner is not None:
        deals = deals.filter(owner=scope.owner)
    return deals.order_by()


def scoped_snapshots(scope: Scope) -> QuerySet[ForecastSnapshot]:
    """Snapshots under the same rule, using the owner and pipeline the deal had that day."""
    snapshots = ForecastSnapshot.objects.visible_to(scope.user).filter(currency=scope.currency_code)
    if scope.pipeline is not None:
        snapshots = snapshots.filter(pipeline=scope.pipeline)
    if scope.team is not None:
        snapshots = snapshots.filter(owner__in=scope.team.members.values("pk"))
    if scope.owner is not None:
        snapshots = snapshots.filter(owner=scope.owner)
    return snapshots.order_by()


def visible_teams(user: User) -> QuerySet[Team]:
    """Teams a user may pick on the dashboard: all for admins, else the ones they manage or join."""
    if is_admin(user):
        return Team.objects.all()
    ids = Team.objects.filter(Q(managers=user) | Q(members=user)).values("pk")
    return Team.objects.filter(pk__in=ids)


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the day after `last`) in the current time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _trunc(kind: str):
    return TruncQuarter if kind == "quarter" else TruncMonth


# --- probabilities -------------------------------------------------------------------------------


@dataclass
class StageProbability:
    stage_id: int
    stage: str
    pipeline: str
    order: int
    configured: int
    closed: int
    won: int

    @property
    def learned(self) -> Decimal | None:
        """Share won (0–1, four places) when enough closed deals stand behind the stage."""
        if self.closed < MIN_LEARNED_SAMPLE:
            return None
        return (Decimal(self.won) / Decimal(self.closed)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    @property
    def learned_percent(self) -> Decimal | None:
        return None if self.learned is None else self.learned * HUNDRED


def stage_probabilities(scope: Scope) -> list[StageProbability]:
    """Configured and learned probability of every stage in scope, with the sample behind it.

    A closed deal (won or lost) counts for every stage its history shows it reached.
    """
    stages = Stage.objects.select_related("pipeline").order_by("pipeline__name", "order")
    if scope.pipeline is not None:
        stages = stages.filter(pipeline=scope.pipeline)
    counts = _reached_stage_counts(scope)
    result = []
    for stage in stages:
        closed, won = counts.get(stage.pk, (0, 0))
        result.append(
            StageProbability(
                stage_id=stage.pk,
                stage=stage.name,
                pipeline=stage.pipeline.name,
                order=stage.order,
                configured=stage.probability,
                closed=closed,
                won=won,
            )
        )
    return result


@contextmanager
def _roomy_sort() -> Iterator[None]:
    """History queries sort or hash hundreds of thousands of rows: on PostgreSQL, give them the
    memory to do it without spilling to disk, for that query's transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
        yield


def _reached_stage_counts(scope: Scope) -> dict[int, tuple[int, int]]:
    """{stage id: (closed deals that reached it, of which won)} in one query over distinct
    (deal, stage) pairs: cheaper than COUNT(DISTINCT) per stage on a long history."""
    closed = scoped_deals(scope).filter(status__in=[Deal.Status.WON, Deal.Status.LOST])
    closed_sql, closed_params = closed.values("pk", "status").query.sql_with_params()
    sql = f"""
        SELECT pairs.to_stage_id, COUNT(*),
               SUM(CASE WHEN pairs.status = %s THEN 1 ELSE 0 END)
        FROM (
            SELECT DISTINCT sc.deal_id, sc.to_stage_id, d.status
            FROM {StageChange._meta.db_table} sc JOIN ({closed_sql}) d ON d.pk = sc.deal_id
            WHERE sc.to_stage_id IS NOT NULL
        ) pairs
        GROUP BY pairs.to_stage_id
    """
    with _roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, [Deal.Status.WON, *closed_params])
        return {stage_id: (int(n), int(won or 0)) for stage_id, n, won in cursor.fetchall()}


def learned_percents(scope: Scope) -> dict[int, Decimal]:
    """{stage id: learned probability in percent} for the stages with enough history."""
    return {
        p.stage_id: p.learned_percent
        for p in stage_probabilities(scope)
        if p.learned_percent is not None
    }


def probability_expression(learned: Mapping[int, Decimal] | None = None) -> Coalesce:
    """SQL for a deal's probability in percent: override, else learned (if given), else stage's.
    (COALESCE, not CASE: evaluated for every open deal, it is the cheaper of the two.)"""
    stage_probability: Any = F("stage__probability")
    if learned:
        whens = [
            When(stage_id=stage_id, then=Value(percent, output_field=PERCENT))
            for stage_id, percent in learned.items()
        ]
        stage_probability = Case(*whens, default=stage_probability, output_field=PERCENT)
    return Coalesce("probability_override", stage_probability, output_field=PERCENT)


def _category_filters() -> dict[str, Q]:
    """Commit and best case, over the `prob` annotation. The categories of open deals are
    disjoint, so the third, pipeline, is what is left of the total: one filter less per deal."""
    commit = Q(stage__is_commit=True) | Q(prob__gte=COMMIT_MIN_PROBABILITY)
    best_case = ~commit & Q(prob__gte=BEST_CASE_MIN_PROBABILITY)
    return {"commit": commit, "best_case": best_case}


# --- quotas --------------------------------------------------------------------------------------


@dataclass
class ViewQuotas:
    """The quotas that may count for a view: those of its teams and of its people, and which
    of those people belong to which of those teams."""

    rows: list[Quota]
    members: dict[int, set[int]] = field(default_factory=dict)


def _quota_rows(scope: Scope, first: dt.date, last: dt.date) -> ViewQuotas:
    """The view's quotas: a rep's view, their own; a team's, the team's and its members';
    otherwise every visible team's and every visible person's. One query, and a second (small)
    one only when both team and personal quotas turn up: which of those people are in which of
    those teams."""
    window = Q(period_start__gte=periods.period_start(first, "quarter"), period_start__lte=last)
    if scope.owner is not None:
        return ViewQuotas(list(Quota.objects.filter(window, user=scope.owner)))
    people: QuerySet | None = None  # everyone
    if scope.team is not None:
        teams: QuerySet = Team.objects.filter(pk=scope.team.pk).values("pk")
        people = User.objects.filter(teams__in=teams).values("pk")
    else:
        teams = visible_teams(scope.user).values("pk")
    if not is_admin(scope.user):
        visible = readable_owner_ids(scope.user)
        people = visible if people is None else people.filter(pk__in=visible)
    of_people = Q(user__isnull=False) if people is None else Q(user__in=people)
    rows = list(Quota.objects.filter(window).filter(Q(team__in=teams) | of_people))
    team_ids = {q.team_id for q in rows if q.team_id is not None}
    user_ids = {q.user_id for q in rows if q.user_id is not None}
    members: dict[int, set[int]] = defaultdict(set)
    if team_ids and user_ids:
        membership = Team.members.through.objects.filter(team__in=team_ids, user__in=user_ids)
        for team_id, user_id in membership.values_list("team_id", "user_id"):
            members[team_id].add(user_id)
    return ViewQuotas(rows, dict(members))


def _sum_quota(rows: Iterable[Quota], start: dt.date, kind: str) -> Decimal | None:
    """One rep's or one team's quota for a period: set for it, or (a quarter) its months'."""
    rows = list(rows)
    exact = [q.amount for q in rows if q.period == kind and q.period_start == start]
    if exact:
        return sum(exact, Decimal(0))
    if kind == "quarter":
        end = periods.period_end(start, kind)
        months = [q.amount for q in rows if q.period == "month" and start <= q.period_start <= end]
        if months:
            return sum(months, Decimal(0))
    return None


def quota_for(quotas: ViewQuotas, start: dt.date, kind: str) -> Decimal | None:
    """The view's quota for one period (None when nobody in it has one):
    - each team of the view counts its own quota when it has one for the period;
    - everyone else counts their own: members of the teams without one, and people in the
      view outside its teams;
    - each person once, and not at all when a team quota of the view already covers them.
    A quarter without its own quota adds up its months, team by team and person by person."""
    by_team: dict[int, list[Quota]] = defaultdict(list)
    by_person: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas.rows:
        if quota.team_id is not None:
            by_team[quota.team_id].append(quota)
        elif quota.user_id is not None:
            by_person[quota.user_id].append(quota)
    amounts: list[Decimal] = []
    covered: set[int] = set()
    for team_id, rows in by_team.items():
        amount = _sum_quota(rows, start, kind)
        if amount is not None:
            amounts.append(amount)
            covered |= quotas.members.get(team_id, set())
    for user_id, rows in by_person.items():
        amount = None if user_id in covered else _sum_quota(rows, start, kind)
        if amount is not None:
            amounts.append(amount)
    return sum(amounts, Decimal(0)) if amounts else None


# --- forecast by period --------------------------------------------------------------------------


@dataclass
class PeriodFigures:
    period: str | None
    start: dt.date | None
    weighted: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    pipeline: Decimal = Decimal(0)
    won: Decimal = Decimal(0)
    quota: Decimal | None = None
    deals: int = 0
    won_deals: int = 0

    @property
    def gap(self) -> Decimal | None:
        """What is still to close to reach quota (negative: beyond quota)."""
        return None if self.quota is None else money(self.quota - self.won)

    @property
    def attainment(self) -> float | None:
        return rate(self.won, self.quota) if self.quota else None

    def add(self, other: PeriodFigures) -> None:
        for name in ("weighted", "commit", "best_case", "pipeline", "won"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.deals += other.deals
        self.won_deals += other.won_deals
        if other.quota is not None:
            self.quota = (self.quota or Decimal(0)) + other.quota

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "weighted": str(money(self.weighted)),
            "commit": str(money(self.commit)),
            "best_case": str(money(self.best_case)),
            "pipeline": str(money(self.pipeline)),
            "won": str(money(self.won)),
            "quota": None if self.quota is None else str(money(self.quota)),
            "gap": None if self.gap is None else str(self.gap),
            "attainment": self.attainment,
            "deals": self.deals,
            "won_deals": self.won_deals,
        }


@dataclass
class Forecast:
    period: str
    probabilities: str
    currency: str
    first: dt.date
    last: dt.date
    periods: list[PeriodFigures]
    totals: PeriodFigures
    unscheduled: PeriodFigures
    current: PeriodFigures
    closed: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "probabilities": self.probabilities,
            "currency": self.currency,
            "since": self.first.isoformat(),
            "until": self.last.isoformat(),
            "periods": [p.as_dict() for p in self.periods],
            "totals": self.totals.as_dict(),
            "unscheduled": self.unscheduled.as_dict(),
        }


@contextmanager
def _without_jit() -> Iterator[None]:
    """PostgreSQL compiles big aggregates to machine code first (JIT); for these scans that
    costs more (~250 ms at 1M deals) than it saves, so it is switched off for them only."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def _add_open_figures(
    deals: QuerySet[Deal],
    by_start: dict[dt.date, PeriodFigures],
    unscheduled: PeriodFigures,
    first: dt.date,
    last: dt.date,
    trunc: Any,
    learned: Mapping[int, Decimal] | None,
) -> None:
    """Open deals due in the window (or undated), by close period: the main figure's query."""
    aggregates: dict[str, Any] = {
        "weighted_x100": Sum(F("amount") * F("prob"), output_field=PRODUCT),
        "deals": Count("id"),
        "open_amount": Sum("amount"),
    }
    for name, condition in _category_filters().items():
        aggregates[name] = Sum("amount", filter=condition)
    rows: Any = (
        deals.filter(status=Deal.Status.OPEN)
        .filter(Q(expected_close_date__range=(first, last)) | Q(expected_close_date__isnull=True))
        .annotate(prob=probability_expression(learned), bucket=trunc("expected_close_date"))
        .values("bucket")
        .annotate(**aggregates)
        .order_by()
    )
    for row in rows:
        bucket = _as_date(row["bucket"])
        figures = unscheduled if bucket is None else by_start[bucket]
        figures.weighted = (row["weighted_x100"] or Decimal(0)) / HUNDRED
        figures.commit = row["commit"] or Decimal(0)
        figures.best_case = row["best_case"] or Decimal(0)
        figures.pipeline = (row["open_amount"] or Decimal(0)) - figures.commit - figures.best_case
        figures.deals = row["deals"]


def _add_won_figures(
    deals: QuerySet[Deal],
    by_start: dict[dt.date, PeriodFigures],
    kind: str,
    closed_range: tuple[dt.date, dt.date] | None,
    closed_pipeline: Pipeline | None,
) -> dict[str, Any] | None:
    """Won per period, plus (when asked) the closed-deal figures: one pass over the won deals
    grouped by period (the closed-deal sums filtered per group, then added up), and a count of
    the lost ones. Returns the closed-deal figures."""
    starts = list(by_start)
    won_from, won_until = starts[0], periods.period_end(starts[-1], kind)
    closed = None
    if closed_range is not None:
        # The cards show no velocity: leave out the open deals it would need.
        closed = _closed_aggregates(
            closed_range[0], closed_range[1], closed_pipeline, with_open=False
        )
        won_from, won_until = min(won_from, closed_range[0]), max(won_until, closed_range[1])
    closed_sums = closed.won if closed is not None else {}
    won_from_at, won_until_at = day_bounds(won_from, won_until)
    groups: Any = (
        deals.filter(status=Deal.Status.WON, won_at__gte=won_from_at, won_at__lt=won_until_at)
        .annotate(bucket=_trunc(kind)("won_at", output_field=DateField()))
        .values("bucket")
        .annotate(won=Sum("amount"), won_deals=Count("id"), **closed_sums)
        .order_by()
    )
    sums: dict[str, Any] = {}
    for group in groups:
        bucket = _as_date(group["bucket"])
        if bucket in by_start:
            by_start[bucket].won += group["won"] or Decimal(0)
            by_start[bucket].won_deals += group["won_deals"]
        for name in closed_sums:
            if group[name] is not None:
                sums[name] = group[name] if name not in sums else sums[name] + group[name]
    if closed is None or closed_range is None:
        return None
    return _closed_result(sums | _count_lost_and_open(deals, closed), closed_range, closed_pipeline)


def forecast(
    scope: Scope,
    *,
    period: str = "month",
    probabilities: str = "configured",
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
    closed_range: tuple[dt.date, dt.date] | None = None,
    closed_pipeline: Pipeline | None = None,
) -> Forecast:
    """Weighted pipeline, categories, won actuals and quota per close period (3–5 queries).

    With `closed_range`, the won query also adds up the closed-deal figures of `closed_figures`
    (win rate, deal size, cycle; not velocity) for `closed_pipeline`: the dashboard's cards.
    """
    today = today or timezone.localdate()
    first, last = periods.forecast_window(today, period, since=since, until=until)
    learned = learned_percents(scope) if probabilities == "learned" else None
    deals = scoped_deals(scope)
    trunc = _trunc(period)

    by_start: dict[dt.date, PeriodFigures] = {
        start: PeriodFigures(periods.label(start, period), start)
        for start in periods.starts_between(first, last, period)
    }
    unscheduled = PeriodFigures(None, None)
    with _without_jit():
        _add_open_figures(deals, by_start, unscheduled, first, last, trunc, learned)
        closed = _add_won_figures(deals, by_start, period, closed_range, closed_pipeline)

    quotas = _quota_rows(scope, first, last)
    totals = PeriodFigures("total", None)
    for start, figures in by_start.items():
        figures.quota = quota_for(quotas, start, period)
        totals.add(figures)
    current_start = periods.period_start(today, period)
    current = by_start.get(current_start) or PeriodFigures(
        periods.label(current_start, period), current_start
    )
    return Forecast(
        period=period,
        probabilities=probabilities,
        currency=scope.currency_code,
        first=first,
        last=last,
        periods=list(by_start.values()),
        totals=totals,
        unscheduled=unscheduled,
        current=current,
        closed=closed,
    )


# --- funnel and time in stage --------------------------------------------------------------------


@dataclass
class FunnelStage:
    stage_id: int
    name: str
    order: int
    kind: str
    entered: int = 0
    advanced: int = 0
    lost: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    stays: int = 0

    @property
    def conversion(self) -> float | None:
        return rate(self.advanced, self.entered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage_id,
            "name": self.name,
            "entered": self.entered,
            "advanced": self.advanced,
            "conversion": self.conversion,
            "lost": self.lost,
            "median_days": self.median_days,
            "p90_days": self.p90_days,
        }


@dataclass
class Funnel:
    pipeline: Pipeline | None
    since: dt.date
    until: dt.date
    currency: str
    stages: list[FunnelStage]
    won: int
    lost: int
    open_deals: int
    average_deal_size: Decimal | None
    cycle_days: float | None
    velocity: Decimal | None
    lost_reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def win_rate(self) -> float | None:
        return rate(self.won, self.won + self.lost)

    @property
    def bottleneck(self) -> FunnelStage | None:
        """The stage where deals wait longest (by median time in stage)."""
        timed = [s for s in self.stages if s.median_days is not None]
        return max(timed, key=lambda s: s.median_days or 0) if timed else None

    def as_dict(self) -> dict[str, Any]:
        bottleneck = self.bottleneck
        return {
            "pipeline": self.pipeline.pk if self.pipeline else None,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "currency": self.currency,
            "stages": [s.as_dict() for s in self.stages],
            "win_rate": self.win_rate,
            "won": self.won,
            "lost": self.lost,
            "open_deals": self.open_deals,
            "average_deal_size": _money_or_none(self.average_deal_size),
            "cycle_days": self.cycle_days,
            "velocity": _money_or_none(self.velocity),
            "bottleneck": bottleneck.stage_id if bottleneck else None,
            "lost_reasons": self.lost_reasons,
        }


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(money(value))


def default_funnel_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=DEFAULT_FUNNEL_DAYS), today


def closed_scope(
    scope: Scope, since: dt.date | None = None, until: dt.date | None = None
) -> tuple[Pipeline | None, dt.date, dt.date]:
    """The deals behind the headline closed-deal figures (win rate, deal size, cycle): the
    forecast's own, so the chosen pipeline or (None) every pipeline in scope, closed in the
    range (default: the last 90 days). The funnel alone keeps to one pipeline."""
    default_since, default_until = default_funnel_range()
    return scope.pipeline, since or default_since, until or default_until


def closed_figures(
    scope: Scope, *, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Win rate, average won deal size, cycle length and velocity alone, over the deals of
    `closed_scope`: one aggregate query."""
    pipeline, since, until = closed_scope(scope, since, until)
    return _closed_figures(scoped_deals(scope), since, until, pipeline)


def funnel(
    scope: Scope,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Funnel:
    """Stage funnel of one pipeline over moves made between `since` and `until` (inclusive)."""
    _, since, until = closed_scope(scope, since, until)
    pipeline = scope.pipeline or Pipeline.default()
    stages = {
        s.pk: FunnelStage(s.pk, s.name, s.order, s.kind)
        for s in Stage.objects.filter(pipeline=pipeline).order_by("order")
    }
    deals = scoped_deals(scope).filter(pipeline=pipeline)
    start, end = day_bounds(since, until)
    _stage_flow(stages, pipeline, deals, start, end)
    lost_rows = (
        deals.filter(status=Deal.Status.LOST, lost_at__gte=start, lost_at__lt=end)
        .values("stage", "lost_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_reason: dict[str, int] = defaultdict(int)
    for row in lost_rows:
        by_reason[row["lost_reason"]] += row["n"]
        if row["stage"] in stages:
            stages[row["stage"]].lost += row["n"]
    reasons = [
        {"reason": reason, "count": count}
        for reason, count in sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    ]
    closed = _closed_figures(deals, since, until, pipeline)
    for key in ("win_rate", "since", "until", "pipeline"):
        closed.pop(key)
    return Funnel(
        pipeline=pipeline,
        since=since,
        until=until,
        currency=scope.currency_code,
        stages=list(stages.values()),
        lost_reasons=reasons,
        **closed,
    )


@dataclass
class _ClosedAggregates:
    """The closed-deal figures' inputs, each group read from its own rows: the won sums (they
    can ride along another query over won deals), and the lost and open deals to count. Kept
    apart so each read stays on its status's partial index instead of the whole table."""

    won: dict[str, Any]
    won_rows: Q
    lost_rows: Q
    open_rows: Q | None


def _closed_aggregates(
    since: dt.date, until: dt.date, pipeline: Pipeline | None, *, with_open: bool = True
) -> _ClosedAggregates:
    """What win rate, deal size, cycle and (`with_open`: it needs every open deal, a much
    bigger read) velocity are computed from."""
    start, end = day_bounds(since, until)
    in_pipeline = Q(pipeline=pipeline) if pipeline is not None else Q()
    won = in_pipeline & Q(status=Deal.Status.WON, won_at__gte=start, won_at__lt=end)
    return _ClosedAggregates(
        won={
            "c_won": Count("id", filter=won),
            "c_won_amount": Sum("amount", filter=won),
            "c_won_with_amount": Count("amount", filter=won),
            "c_cycle": Sum(F("won_at") - F("created_at"), filter=won, output_field=DurationField()),
        },
        won_rows=won,
        lost_rows=in_pipeline & Q(status=Deal.Status.LOST, lost_at__gte=start, lost_at__lt=end),
        open_rows=in_pipeline & Q(status=Deal.Status.OPEN) if with_open else None,
    )


def _count_lost_and_open(deals: QuerySet[Deal], closed: _ClosedAggregates) -> dict[str, int]:
    """The lost deals of the range (and the open ones, when asked): a count each."""
    counts = {"c_lost": deals.filter(closed.lost_rows).count()}
    if closed.open_rows is not None:
        counts["c_open"] = deals.filter(closed.open_rows).count()
    return counts


def _closed_result(
    sums: Mapping[str, Any], closed_range: tuple[dt.date, dt.date], pipeline: Pipeline | None
) -> dict[str, Any]:
    won, lost = int(sums.get("c_won") or 0), int(sums.get("c_lost") or 0)
    with_amount = int(sums.get("c_won_with_amount") or 0)
    average = Decimal(sums.get("c_won_amount") or 0) / with_amount if with_amount else None
    cycle_total = sums.get("c_cycle")
    cycle_days = None
    if won and isinstance(cycle_total, dt.timedelta):
        cycle_days = Decimal(cycle_total.total_seconds()) / SECONDS_PER_DAY / won
    open_deals = None if "c_open" not in sums else int(sums["c_open"] or 0)
    velocity = None
    if open_deals is not None and average is not None and cycle_days and (won + lost):
        win_share = Decimal(won) / Decimal(won + lost)
        velocity = open_deals * win_share * average / cycle_days
    return {
        "won": won,
        "lost": lost,
        "open_deals": open_deals,
        "average_deal_size": average,
        "cycle_days": None if cycle_days is None else round(float(cycle_days), 1),
        "velocity": velocity,
        "win_rate": rate(won, won + lost),
        "since": closed_range[0],
        "until": closed_range[1],
        "pipeline": pipeline,
    }


def _closed_figures(
    deals: QuerySet[Deal], since: dt.date, until: dt.date, pipeline: Pipeline | None
) -> dict[str, Any]:
    """Win rate inputs, average won deal size, sales-cycle length and pipeline velocity."""
    closed = _closed_aggregates(since, until, pipeline)
    sums = deals.filter(closed.won_rows).aggregate(**closed.won)
    sums |= _count_lost_and_open(deals, closed)
    return _closed_result(sums, (since, until), pipeline)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Continuous percentile with linear interpolation, exactly as SQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value / SECONDS_PER_DAY, 1)


def _stage_flow(
    stages: dict[int, FunnelStage],
    pipeline: Pipeline | None,
    deals: QuerySet[Deal],
    start: dt.datetime,
    end: dt.datetime,
) -> None:
    """Per stage, over entries made in the range: deals that entered, deals that later reached
    a later stage, and the median and 90th percentile of completed stays (a stay ends with the
    deal's next move, or when the deal was lost there)."""
    if not stages or pipeline is None:
        return
    if connection.vendor == "postgresql":
        rows = _stage_flow_sql(list(stages), pipeline, deals, start, end)
    else:
        rows = _stage_flow_python(stages, deals, start, end)
    for stage_id, entered, advanced, median, p90, stays in rows:
        stage = stages[stage_id]
        stage.entered, stage.advanced = entered, advanced
        stage.median_days, stage.p90_days, stage.stays = _days(median), _days(p90), stays


def _stage_flow_sql(
    stage_ids: list[int],
    pipeline: Pipeline,
    deals: QuerySet[Deal],
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[int, int, int, float | None, float | None, int]]:
    """PostgreSQL, one pass: window functions find each stay's end and the furthest stage the
    deal reached afterwards; percentile_cont() gives the quantiles."""
    # Moves before the range never end a stay that began in it, nor follow one: skip them.
    deal_sql, deal_params = deals.values("pk", "lost_at").query.sql_with_params()
    changes, stage_table = StageChange._meta.db_table, Stage._meta.db_table
    sql = f"""
        WITH changes AS (
            SELECT sc.deal_id, sc.to_stage_id AS stage_id, sc.at AS entered_at,
                   st."order" AS stage_order,
                   COALESCE(LEAD(sc.at) OVER w, d.lost_at) AS left_at,
                   MAX(st."order") OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
                       AS later_order
            FROM {changes} sc
            JOIN ({deal_sql}) d ON d.pk = sc.deal_id
            LEFT JOIN {stage_table} st ON st.id = sc.to_stage_id AND st.pipeline_id = %s
            WHERE sc.at >= %s
            WINDOW w AS (PARTITION BY sc.deal_id ORDER BY sc.at, sc.id)
        ), entries AS (
            SELECT deal_id, stage_id, stage_order, later_order,
                   EXTRACT(EPOCH FROM (left_at - entered_at))::float8 AS seconds
            FROM changes
            WHERE stage_id = ANY(%s) AND entered_at >= %s AND entered_at < %s
        )
        SELECT stage_id,
               COUNT(DISTINCT deal_id),
               COUNT(DISTINCT deal_id) FILTER (WHERE later_order > stage_order),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds),
               COUNT(seconds)
        FROM entries GROUP BY stage_id
    """
    with _roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, [*deal_params, pipeline.pk, start, stage_ids, start, end])
        return list(cursor.fetchall())


def _stage_flow_python(
    stages: dict[int, FunnelStage], deals: QuerySet[Deal], start: dt.datetime, end: dt.datetime
) -> list[tuple[int, int, int, float | None, float | None, int]]:
    """Fallback for databases without percentile_cont (SQLite): the same rules, walked in Python
    over the histories of the deals that moved in the range."""
    rows = list(
        StageChange.objects.filter(deal__in=deals.values("pk"), at__gte=start)
        .order_by("deal_id", "at", "id")
        .values_list("deal_id", "to_stage_id", "at", "deal__lost_at")
    )
    entered: dict[int, set[int]] = defaultdict(set)
    advanced: dict[int, set[int]] = defaultdict(set)
    durations: dict[int, list[float]] = defaultdict(list)
    later_order: int | None = None
    for index in range(len(rows) - 1, -1, -1):
        deal_id, stage_id, entered_at, lost_at = rows[index]
        following = rows[index + 1] if index + 1 < len(rows) else None
        if following is None or following[0] != deal_id:
            later_order, left_at = None, lost_at
        else:
            left_at = following[2]
        stage = stages.get(stage_id) if stage_id is not None else None
        if stage is not None and start <= entered_at < end:
            entered[stage_id].add(deal_id)
            if later_order is not None and later_order > stage.order:
                advanced[stage_id].add(deal_id)
            if left_at is not None:
                durations[stage_id].append((left_at - entered_at).total_seconds())
        if stage is not None:
            later_order = max(later_order or 0, stage.order)
    return [
        (
            stage_id,
            len(deal_ids),
            len(advanced[stage_id]),
            percentile(durations[stage_id], 0.5),
            percentile(durations[stage_id], 0.9),
            len(durations[stage_id]),
        )
        for stage_id, deal_ids in entered.items()
    ]


# --- people: per-rep figures and the watchlist ---------------------------------------------------


@dataclass
class RepFigures:
    owner_id: int
    name: str
    open_deals: int
    pipeline: Decimal
    weighted: Decimal
    won: Decimal
    won_deals: int
    closed_won: int
    closed_lost: int
    stalled: int
    quota: Decimal | None = None

    @property
    def win_rate(self) -> float | None:
        return rate(self.closed_won, self.closed_won + self.closed_lost)

    @property
    def gap(self) -> Decimal | None:
        return None if self.quota is None else money(self.quota - self.won)

    @property
    def attainment(self) -> float | None:
        return rate(self.won, self.quota) if self.quota else None


def rep_figures(
    scope: Scope,
    *,
    period: str = "month",
    probabilities: str = "configured",
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> list[RepFigures]:
    """Per owner: open pipeline, weighted, won this period vs quota, win rate, stalled deals."""
    today = today or timezone.localdate()
    default_since, default_until = default_funnel_range(today)
    range_start, range_end = day_bounds(since or default_since, until or default_until)
    current = periods.period_start(today, period)
    period_start_at, period_end_at = day_bounds(current, periods.period_end(current, period))
    learned = learned_percents(scope) if probabilities == "learned" else None
    is_open = Q(status=Deal.Status.OPEN)
    won_now = Q(status=Deal.Status.WON, won_at__gte=period_start_at, won_at__lt=period_end_at)
    rows = (
        scoped_deals(scope)
        .annotate(prob=probability_expression(learned))
        .values("owner", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(
            open_deals=Count("id", filter=is_open),
            pipeline=Sum("amount", filter=is_open),
            weighted_x100=Sum(F("amount") * F("prob"), filter=is_open, output_field=PRODUCT),
            won=Sum("amount", filter=won_now),
            won_deals=Count("id", filter=won_now),
            closed_won=Count(
                "id",
                filter=Q(status=Deal.Status.WON, won_at__gte=range_start, won_at__lt=range_end),
            ),
            closed_lost=Count(
                "id",
                filter=Q(status=Deal.Status.LOST, lost_at__gte=range_start, lost_at__lt=range_end),
            ),
            stalled=Count("id", filter=Q(stalled=True) & ~Q(status=Deal.Status.LOST)),
        )
        .order_by()
    )
    reps = [
        RepFigures(
            owner_id=row["owner"],
            name=" ".join(p for p in (row["owner__first_name"], row["owner__last_name"]) if p)
            or row["owner__username"],
            open_deals=row["open_deals"],
            pipeline=row["pipeline"] or Decimal(0),
            weighted=(row["weighted_x100"] or Decimal(0)) / HUNDRED,
            won=row["won"] or Decimal(0),
            won_deals=row["won_deals"],
            closed_won=row["closed_won"],
            closed_lost=row["closed_lost"],
            stalled=row["stalled"],
        )
        for row in rows
    ]
    quotas = Quota.objects.filter(
        user__in=[r.owner_id for r in reps],
        period_start__gte=periods.period_start(current, "quarter"),
        period_start__lte=periods.period_end(current, period),
    )
    by_user: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas:
        if quota.user_id is not None:
            by_user[quota.user_id].append(quota)
    for rep in reps:
        rep.quota = _sum_quota(by_user.get(rep.owner_id, []), current, period)
    return sorted(reps, key=lambda r: (-r.weighted, r.name))


AT_RISK_SOON_DAYS = 14
AT_RISK_LOW_PROBABILITY = 50
AT_RISK_PUSHES = 2


@dataclass
class WatchedDeal:
    deal: Deal
    probability: Decimal
    reasons: list[str]


def watchlist(scope: Scope, *, today: dt.date | None = None) -> dict[str, list[WatchedDeal]]:
    """Stalled deals, and open deals at risk: overdue close date, close date pushed back
    repeatedly, or closing soon at a low probability. Largest first."""
    today = today or timezone.localdate()
    base = (
        scoped_deals(scope)
        .annotate(prob=probability_expression())
        .select_related("owner", "stage", "company")
        .order_by(F("amount").desc(nulls_last=True), "id")
    )
    stalled = base.filter(stalled=True).exclude(status=Deal.Status.LOST)[:WATCHLIST_LIMIT]
    soon = today + dt.timedelta(days=AT_RISK_SOON_DAYS)
    at_risk = base.filter(status=Deal.Status.OPEN, stalled=False).filter(
        Q(expected_close_date__lt=today)
        | Q(close_date_pushes__gte=AT_RISK_PUSHES)
        | Q(expected_close_date__lte=soon, prob__lt=AT_RISK_LOW_PROBABILITY)
    )[:WATCHLIST_LIMIT]
    return {
        "stalled": [
            WatchedDeal(d, d.prob, list(d.stall_reasons or []) or ["stalled"]) for d in stalled
        ],
        "at_risk": [WatchedDeal(d, d.prob, _risk_reasons(d, today, soon)) for d in at_risk],
    }


def _risk_reasons(deal: Deal, today: dt.date, soon: dt.date) -> list[str]:
    reasons = []
    close = deal.expected_close_date
    if close and close < today:
        reasons.append("close date passed")
    if deal.close_date_pushes >= AT_RISK_PUSHES:
        reasons.append(f"close date pushed {deal.close_date_pushes}×")
    if close and today <= close <= soon and deal.prob < AT_RISK_LOW_PROBABILITY:  # type: ignore[attr-defined]
        reasons.append("closing soon at low probability")
    return reasons


# --- history: the pipeline as of a date, movement since, forecast accuracy ----------------------


@dataclass
class StageSnapshot:
    stage_id: int | None
    name: str
    deals: int
    amount: Decimal
    weighted: Decimal


@dataclass
class PipelineAsOf:
    day: dt.date
    source: str  # "snapshot" (exact amounts that day) or "history" (stages from moves)
    stages: list[StageSnapshot]

    @property
    def total(self) -> Decimal:
        return sum((s.amount for s in self.stages), Decimal(0))

    @property
    def weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), Decimal(0))


def pipeline_as_of(scope: Scope, day: dt.date) -> PipelineAsOf:
    """Open deals per stage at the end of `day`.

    From that day's snapshots when they exist (amounts, probabilities as they were); else rebuilt
    from history: the stage each deal had last entered by then (and that stage's probability),
    lost ones left out, today's amounts.
    """
    names = dict(Stage.objects.values_list("pk", "name"))
    snap_rows: list[Any] = list(
        scoped_snapshots(scope)
        .filter(taken_on=day, status=Deal.Status.OPEN)
        .values("stage")
        .annotate(
            deals=Count("id"),
            total_amount=Sum("amount"),
            weighted_x100=Sum(F("amount") * F("probability"), output_field=PRODUCT),
        )
        .order_by()
    )
    source = "snapshot"
    if not snap_rows:
        source, snap_rows = "history", _as_of_from_history(scope, day)
    stages = [
        StageSnapshot(
            stage_id=row["stage"],
            name=names.get(row["stage"], "(deleted stage)"),
            deals=row["deals"],
            amount=row["total_amount"] or Decimal(0),
            weighted=(row["weighted_x100"] or Decimal(0)) / HUNDRED,
        )
        for row in snap_rows
    ]
    order = dict(Stage.objects.values_list("pk", "order"))
    stages.sort(key=lambda s: (order.get(s.stage_id or 0, 10**6), s.name))
    return PipelineAsOf(day=day, source=source, stages=stages)


def _as_of_from_history(scope: Scope, day: dt.date) -> list[dict[str, Any]]:
    _, end = day_bounds(day, day)
    last_stage = StageChange.objects.filter(deal=OuterRef("pk"), at__lt=end).order_by("-at", "-id")
    last_status = FieldChange.objects.filter(
        deal=OuterRef("pk"), field="status", at__lt=end
    ).order_by("-at", "-id")
    open_stages = Stage.objects.filter(kind=Stage.Kind.OPEN).values("pk")
    rows = (
        scoped_deals(scope)
        .filter(created_at__lt=end)
        .annotate(
            stage_then=Subquery(last_stage.values("to_stage")[:1]),
            status_then=Subquery(last_status.values("new_value")[:1]),
            # The probability of the stage the deal was in then (unless overridden).
            prob=Case(
                When(probability_override__isnull=False, then=F("probability_override")),
                default=Subquery(last_stage.values("to_stage__probability")[:1]),
                output_field=PERCENT,
            ),
        )
        .filter(stage_then__in=open_stages)
        .filter(Q(status_then__isnull=True) | ~Q(status_then=Deal.Status.LOST))
        .values("stage_then")
        .annotate(
            deals=Count("id"),
            total_amount=Sum("amount"),
            weighted_x100=Sum(F("amount") * F("prob"), output_field=PRODUCT),
        )
        .order_by()
    )
    return [{**row, "stage": row["stage_then"]} for row in rows]


@dataclass
class Movement:
    since: dt.date
    kind: str
    counts: dict[str, int]
    amounts: dict[str, Decimal]

    MOVES = ("new", "advanced", "slipped", "won", "lost")

    def rows(self) -> list[tuple[str, int, Decimal]]:
        return [(name, self.counts[name], self.amounts[name]) for name in self.MOVES]


def movement_since(scope: Scope, since: dt.date, *, period: str = "month") -> Movement:
    """What changed since `since`: deals created, advanced to a later stage, whose close date
    slipped into a later period, won and lost. One query."""
    start, _ = day_bounds(since, since)
    advanced = StageChange.objects.filter(
        deal=OuterRef("pk"),
        at__gte=start,
        from_stage__isnull=False,
        to_stage__order__gt=F("from_stage__order"),
        to_stage__pipeline=F("from_stage__pipeline"),
    )
    trunc = _trunc(period)
    slipped = (
        FieldChange.objects.filter(deal=OuterRef("pk"), field="expected_close_date", at__gte=start)
        .annotate(
            old_period=trunc(Cast(NullIf("old_value", Value("")), DateField())),
            new_period=trunc(Cast(NullIf("new_value", Value("")), DateField())),
        )
        .filter(new_period__gt=F("old_period"))
    )
    conditions = {
        "new": Q(created_at__gte=start),
        "advanced": Q(Exists(advanced)),
        "slipped": Q(Exists(slipped)),
        "won": Q(status=Deal.Status.WON, won_at__gte=start),
        "lost": Q(status=Deal.Status.LOST, lost_at__gte=start),
    }
    aggregates: dict[str, Any] = {}
    for name, condition in conditions.items():
        aggregates[f"{name}_count"] = Count("id", filter=condition)
        aggregates[f"{name}_amount"] = Sum("amount", filter=condition)
    figures = scoped_deals(scope).aggregate(**aggregates)
    return Movement(
        since=since,
        kind=period,
        counts={name: figures[f"{name}_count"] for name in conditions},
        amounts={name: figures[f"{name}_amount"] or Decimal(0) for name in conditions},
    )


@dataclass
class AccuracyRow:
    period: str
    start: dt.date
    snapshot_day: dt.date | None
    forecast: Decimal | None
    commit: Decimal | None
    won: Decimal

    @property
    def accuracy(self) -> float | None:
        """Won as a share of what was forecast (1.0 = spot on)."""
        return rate(self.won, self.forecast) if self.forecast else None


def _first_snapshot_days(starts: list[dt.date], kind: str) -> dict[dt.date, dt.date]:
    """{period start: first day a snapshot was taken in that period}. Snapshots cover every open
    deal at once, so this is the same for everyone; one MIN() per period, each from the index."""
    if not starts:
        return {}
    table = ForecastSnapshot._meta.db_table
    parts = [f"(SELECT MIN(taken_on) FROM {table} WHERE taken_on BETWEEN %s AND %s)"] * len(starts)
    params: list[dt.date] = []
    for start in starts:
        params += [start, periods.period_end(start, kind)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        days = cursor.fetchone() or ()
    return {
        start: _parse_day(day) for start, day in zip(starts, days, strict=True) if day is not None
    }


def _parse_day(value: Any) -> dt.date:
    day = _as_date(value)
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(value))


def _won_by_period(
    scope: Scope, first: dt.date, last: dt.date, kind: str
) -> dict[dt.date, Decimal]:
    start_at, end_at = day_bounds(first, last)
    rows: Any = (
        scoped_deals(scope)
        .filter(status=Deal.Status.WON, won_at__gte=start_at, won_at__lt=end_at)
        .annotate(bucket=_trunc(kind)(TruncDate("won_at")))
        .values("bucket")
        .annotate(won=Sum("amount"))
        .order_by()
    )
    return {_parse_day(row["bucket"]): row["won"] or Decimal(0) for row in rows}


def forecast_accuracy(
    scope: Scope, *, period: str = "month", count: int = 6, today: dt.date | None = None
) -> list[AccuracyRow]:
    """For each of the last `count` periods (and the current one): the weighted forecast of the
    deals due in it, as the first snapshot taken in the period said, beside what was won."""
    today = today or timezone.localdate()
    current = periods.period_start(today, period)
    first = periods.shift(current, period, -count)
    starts = periods.starts_between(first, current, period)
    first_days = _first_snapshot_days(starts, period)
    said: dict[dt.date, Any] = {}
    if first_days:
        due_then = Q()
        for start, first_day in first_days.items():
            due_then |= Q(
                taken_on=first_day,
                expected_close_date__range=(start, periods.period_end(start, period)),
            )
        commit = Q(stage__is_commit=True) | Q(probability__gte=COMMIT_MIN_PROBABILITY)
        said = {
            row["taken_on"]: row
            for row in scoped_snapshots(scope)
            .filter(due_then, status=Deal.Status.OPEN)
            .values("taken_on")
            .annotate(
                weighted_x100=Sum(F("amount") * F("probability"), output_field=PRODUCT),
                commit=Sum("amount", filter=commit),
            )
            .order_by()
        }
    won = _won_by_period(scope, first, periods.period_end(current, period), period)
    rows: list[AccuracyRow] = []
    for start in starts:
        day = first_days.get(start)
        forecast_value = commit_value = None
        if day is not None:
            row: dict[str, Any] = said.get(day) or {}
            forecast_value = (row.get("weighted_x100") or Decimal(0)) / HUNDRED
            commit_value = row.get("commit") or Decimal(0)
        rows.append(
            AccuracyRow(
                period=periods.label(start, period),
                start=start,
                snapshot_day=day,
                forecast=forecast_value,
                commit=commit_value,
                won=won.get(start, Decimal(0)),
            )
        )
    return rows
