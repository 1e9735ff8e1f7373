"""The learned model: one probability per stage, team and rep, and when won deals close.

Viewer-independent: it learns from every closed deal (of the pipeline, or of every pipeline),
whoever looks; only the figures built with it are scoped to the viewer.

Whether (`probability`), per stage:
- the pipeline rate: the share of the closed deals that reached the stage and were won;
- a team's rate, shrunk toward the pipeline rate, and a rep's, shrunk toward their team's:
  the posterior mean of a beta prior, (won + k·prior) / (closed + k). The strength k is
  estimated per stage and level from how much the groups really differ (method of moments, see
  `_strength`): groups that differ no more than chance gives a strong pull, real differences a
  weak one. No cliff: one closed deal moves a rep's figure a little, a hundred a lot.
- A rep in several teams: their team rate pools every team they are in (the members of all of
  them, each deal counted once). A deal without an owner, or an owner in no team: the pipeline
  rate stands in for the team's.
- A stage nobody has closed a deal through yet: its configured probability.

When (`period_shares`), per stage: for the (`SLIP_SAMPLE` most recently) won deals that were
in the stage with an expected close date, the expected close date they had when they entered it
(an already overdue one counts from the period they entered in) against the period they were
won in: the share won in the same period, the next, … Closing earlier than expected counts as
the same period. Each
stage's shares are shrunk toward those of every stage (`SLIP_STRENGTH` deals' worth).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf, TruncMonth
from django.utils import timezone

from accounts.models import Team
from deals.models import Deal, FieldChange, Pipeline, Stage, StageChange
from forecasting.analytics.landing import Landing, landing_counts
from forecasting.analytics.scope import CENT, as_date, day_bounds, roomy_sort
from forecasting.models import StageReach
from pipeline_crm.db import is_postgresql

# Bounds of the estimated prior strength (in closed deals' worth), and the strength used when a
# stage has too few groups to estimate it from.
MIN_STRENGTH = 2.0
MAX_STRENGTH = 1000.0
DEFAULT_STRENGTH = 20.0
# How many won deals' worth of the all-stage timing a stage's own timing is shrunk toward.
SLIP_STRENGTH = 10.0
# The timing is learned from this many of the most recently won deals (the landing seen from
# period starts, which reads each one's history, from fewer).
SLIP_SAMPLE = 5_000
LANDING_SAMPLE = 2_000
# How long the live forecast keeps its timing model (learned from the deals won before today).
TIMING_CACHE_SECONDS = 3600

Counts = tuple[int, int]  # (closed, won)


@dataclass
class StageModel:
    """One stage's learned rates: the pipeline's, each team group's and each rep's."""

    configured: float
    closed: int = 0
    won: int = 0
    reps: dict[int, float] = field(default_factory=dict)
    teams: dict[int, float] = field(default_factory=dict)  # per owner: their team prior
    rep_counts: dict[int, Counts] = field(default_factory=dict)
    weights: dict[int, float] = field(default_factory=dict)  # per rep: deals' worth behind

    @property
    def rate(self) -> float:
        return self.won / self.closed if self.closed else self.configured


@dataclass
class LearnedModel:
    """What `learn_model` learned; read it with `probability`, `behind` and `period_shares`."""

    stages: dict[int, StageModel]
    # {kind: {stage id: offsets counts}} and {kind: all stages' offset counts}
    slips: dict[str, dict[int, list[int]]]
    all_slips: dict[str, list[int]]
    landing: Landing = field(default_factory=Landing)  # seen from period starts

    def probability(self, *, stage_id: int, owner_id: int | None) -> float:
        """The learned probability (0–1) of a deal of `owner_id` in the stage."""
        stage = self.stages.get(stage_id)
        if stage is None:
            return 0.0
        if owner_id is None or not stage.closed:
            return stage.rate
        if owner_id in stage.reps:
            return stage.reps[owner_id]
        return stage.teams.get(owner_id, stage.rate)

    def weight(self, *, stage_id: int, owner_id: int | None) -> float:
        """How many deals' worth stand behind `probability` (its beta posterior's
        concentration): a rep's own deals plus their prior's strength, else the pipeline's
        closed deals; infinite for a configured probability (nothing learned, nothing drawn)."""
        stage = self.stages.get(stage_id)
        if stage is None or not stage.closed:
            return float("inf")
        if owner_id is not None and owner_id in stage.weights:
            return stage.weights[owner_id]
        return float(stage.closed)

    def percent(self, *, stage_id: int, owner_id: int | None) -> Decimal:
        """`probability` in percent with two places: what the forecast weighs a deal by."""
        value = Decimal(self.probability(stage_id=stage_id, owner_id=owner_id) * 100)
        return value.quantize(CENT, rounding=ROUND_HALF_UP)

    def behind(self, *, stage_id: int, owner_id: int | None) -> int:
        """How many closed deals that reached the stage stand behind the figure: the
        pipeline's (no owner) or the rep's own."""
        stage = self.stages.get(stage_id)
        if stage is None:
            return 0
        if owner_id is None:
            return stage.closed
        return stage.rep_counts.get(owner_id, (0, 0))[0]

    def period_shares(self, *, stage_id: int, kind: str, count: int) -> list[float]:
        """`count` + 1 shares summing to 1: P(a won deal closes k periods after its expected
        one), k = 0 … count − 1, then the share later than that."""
        pooled = _shares(self.all_slips.get(kind, []), count, None, 0.0)
        own = self.slips.get(kind, {}).get(stage_id, [])
        return _shares(own, count, pooled, SLIP_STRENGTH)

    def landing_shares(self, *, stage_id: int, kind: str, ahead: int, count: int) -> list[float]:
        """P(a won deal closes in period j from now), j = 0 … count − 1, when its expected
        period is `ahead` (≥ 0) periods from now (0: now, or already past): as won deals open
        at past period starts in the stage that far ahead did (`landing`), early or late; where
        none was seen, its `period_shares` from the expected period."""
        learned = self.landing.shares(
            stage_id=stage_id, kind=kind, ahead=ahead, count=count, strength=SLIP_STRENGTH
        )
        if learned is not None:
            return learned
        late = self.period_shares(stage_id=stage_id, kind=kind, count=count)
        return [late[j - ahead] if j >= ahead else 0.0 for j in range(count)]


def _shares(
    offsets: list[int], count: int, prior: list[float] | None, strength: float
) -> list[float]:
    """Shares of offsets 0 … count − 1 and later, shrunk toward `prior`; all in the expected
    period when nothing is known."""
    head = [float(n) for n in offsets[:count]] + [0.0] * max(0, count - len(offsets))
    head.append(float(sum(offsets[count:])))
    total = sum(head)
    if prior is None:
        if not total:
            return [1.0] + [0.0] * count
        return [n / total for n in head]
    return [(n + strength * p) / (total + strength) for n, p in zip(head, prior, strict=True)]


def learn_model(
    *, pipeline: Pipeline | None = None, as_of: dt.datetime | None = None, timing: bool = True
) -> LearnedModel:
    """Learn from what was known before `as_of` (None: now): closed deals, stage changes and
    close-date changes of the pipeline (every pipeline when None). Three queries, seven with the
    timing (`timing=False` leaves it out: every won deal then counts as closing on time)."""
    configured = _configured(pipeline)
    counts = _reached_counts(pipeline, as_of)
    slips, landing = _timing(pipeline, as_of) if timing else ({}, Landing())
    return _fitted(configured, counts, owner_teams(), slips, landing)


Timing = tuple[dict[str, dict[int, list[int]]], Landing]


def _timing(pipeline: Pipeline | None, as_of: dt.datetime | None) -> Timing:
    """When won deals close against their expected date, learned before `as_of`; for the live
    forecast (None), before today, kept for the day (`TIMING_CACHE_SECONDS`): a few thousand
    recent wins and their close-date history, whose reading took 0.5 s of a learned forecast
    at 1,000,000 deals, and which one more win changes little. The probabilities themselves
    (`_reached_counts`) stay live."""
    if as_of is not None:
        return _slip_counts(pipeline, as_of), _landing(pipeline, as_of, True)
    today = timezone.localdate()
    key = f"forecasting:timing:{pipeline.pk if pipeline else 'all'}:{today.isoformat()}"
    kept = cache.get(key)
    if isinstance(kept, tuple):
        return cast(Timing, kept)
    start = day_bounds(today, today)[0]
    learned = (_slip_counts(pipeline, start), _landing(pipeline, start, True))
    cache.set(key, learned, timeout=TIMING_CACHE_SECONDS)
    return learned


def learn_models(
    *,
    as_of_days: Sequence[dt.datetime],
    pipeline: Pipeline | None = None,
    timing: bool = True,
) -> list[LearnedModel]:
    """`learn_model(as_of=day)` for each of the days (a backtest's period starts), the same
    models; on PostgreSQL the closed deals of every day are counted by one query."""
    days = list(as_of_days)
    if not days or not is_postgresql():
        return [learn_model(pipeline=pipeline, as_of=day, timing=timing) for day in days]
    configured = _configured(pipeline)
    teams = owner_teams()
    return [
        _fitted(
            configured,
            counts,
            teams,
            _slip_counts(pipeline, day) if timing else {},
            _landing(pipeline, day, timing),
        )
        for day, counts in zip(days, _counted_reach_by_day(pipeline, days), strict=True)
    ]


def _landing(pipeline: Pipeline | None, as_of: dt.datetime | None, timing: bool) -> Landing:
    return Landing.of(landing_counts(pipeline, as_of, LANDING_SAMPLE)) if timing else Landing()


def _configured(pipeline: Pipeline | None) -> dict[int, float]:
    """{stage id: its configured probability (0–1)}."""
    stages = Stage.objects.all()
    if pipeline is not None:
        stages = stages.filter(pipeline=pipeline)
    return {pk: percent / 100 for pk, percent in stages.values_list("pk", "probability")}


def _fitted(
    configured: dict[int, float],
    counts: Mapping[int, dict[int, Counts]],
    owner_teams: dict[int, frozenset[int]],
    slips: dict[str, dict[int, list[int]]],
    landing: Landing,
) -> LearnedModel:
    model = {pk: StageModel(configured=rate) for pk, rate in configured.items()}
    for stage_id, stage in model.items():
        _fit_stage(stage, dict(counts.get(stage_id, {})), owner_teams)
    return LearnedModel(stages=model, slips=slips, all_slips=_pooled(slips), landing=landing)


def _reached_counts(
    pipeline: Pipeline | None, as_of: dt.datetime | None
) -> dict[int, dict[int, Counts]]:
    """{stage id: {owner id: (closed, won)}}: closed deals that reached each stage (each once),
    per owner (0: none). Now, on PostgreSQL: the running counts (`StageReach`); else counted
    from the history."""
    if as_of is not None or not is_postgresql():
        return _counted_reach(pipeline, as_of)
    result: dict[int, dict[int, Counts]] = defaultdict(dict)
    for stage_id, owner_id, status, deals in _reach(pipeline).values_list(
        "stage_id", "owner_id", "status", "deals"
    ):
        closed, won = result[stage_id].get(owner_id, (0, 0))
        won_here = deals if status == Deal.Status.WON else 0
        result[stage_id][owner_id] = (closed + deals, won + won_here)
    return result


def reached_totals(pipeline: Pipeline | None) -> dict[int, Counts]:
    """{stage id: (closed, won)}: every closed deal of the pipeline (every pipeline when None)
    that reached the stage, whoever owns it: what the learned model's pipeline-wide figure of
    the stage stands on (`_fit_stage`), added up in SQL from the running counts on
    PostgreSQL. One query."""
    if not is_postgresql():
        counts = _counted_reach(pipeline, None)
        return {stage_id: _added_up(by_owner) for stage_id, by_owner in counts.items()}
    rows = (
        _reach(pipeline)
        .order_by()
        .values("stage_id")
        .annotate(closed=Sum("deals"), won=Sum("deals", filter=Q(status=Deal.Status.WON)))
        .values_list("stage_id", "closed", "won")
    )
    return {stage_id: (int(closed), int(won or 0)) for stage_id, closed, won in rows}


def _reach(pipeline: Pipeline | None) -> QuerySet[StageReach]:
    """The running counts of the pipeline's stages (every pipeline's when None)."""
    reach = StageReach.objects.exclude(deals=0)
    if pipeline is not None:
        reach = reach.filter(stage_id__in=Stage.objects.filter(pipeline=pipeline).values("pk"))
    return reach


def _added_up(by_owner: Mapping[int, Counts]) -> Counts:
    """(closed, won) over every owner."""
    return sum(n for n, _ in by_owner.values()), sum(w for _, w in by_owner.values())


def _counted_reach(
    pipeline: Pipeline | None, as_of: dt.datetime | None
) -> dict[int, dict[int, Counts]]:
    """`_reached_counts` from the history: one query over distinct (deal, stage) pairs of the
    deals closed before `as_of`."""
    closed = Deal.objects.filter(status__in=[Deal.Status.WON, Deal.Status.LOST])
    if as_of is not None:
        closed = closed.filter(
            Q(status=Deal.Status.WON, won_at__lt=as_of)
            | Q(status=Deal.Status.LOST, lost_at__lt=as_of)
        )
    if pipeline is not None:
        closed = closed.filter(pipeline=pipeline)
    closed_sql, closed_params = closed.values("pk", "status", "owner_id").query.sql_with_params()
    sql = f"""
        SELECT pairs.to_stage_id, pairs.owner_id, COUNT(*),
               SUM(CASE WHEN pairs.status = %s THEN 1 ELSE 0 END)
        FROM (
            SELECT DISTINCT sc.deal_id, sc.to_stage_id, d.status, d.owner_id
            FROM {StageChange._meta.db_table} sc JOIN ({closed_sql}) d ON d.pk = sc.deal_id
            WHERE sc.to_stage_id IS NOT NULL AND sc.at < %s
        ) pairs
        GROUP BY pairs.to_stage_id, pairs.owner_id
    """  # noqa: S608 - a table name and the ORM's own SQL; every value is a parameter
    result: dict[int, dict[int, Counts]] = defaultdict(dict)
    until = as_of or dt.datetime.max.replace(tzinfo=dt.UTC)
    with roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, [Deal.Status.WON, *closed_params, until])
        for stage_id, owner_id, n, won in cursor.fetchall():
            result[stage_id][owner_id or 0] = (int(n), int(won or 0))
    return result


def _counted_reach_by_day(
    pipeline: Pipeline | None, days: list[dt.datetime]
) -> list[dict[int, dict[int, Counts]]]:
    """`_counted_reach(pipeline, day)` for each day from one query: each (deal, stage) pair is
    known from the later of its first entry and the deal's close, so it counts for the days
    after that; the query puts each pair in its bucket among the sorted days (`width_bucket`)
    and the counts of a day add up the buckets up to it."""
    cutoffs = sorted(set(days))
    closed_at = Case(When(status=Deal.Status.WON, then="won_at"), default="lost_at")
    closed = (
        Deal.objects.filter(status__in=[Deal.Status.WON, Deal.Status.LOST])
        .filter(
            Q(status=Deal.Status.WON, won_at__lt=cutoffs[-1])
            | Q(status=Deal.Status.LOST, lost_at__lt=cutoffs[-1])
        )
        .annotate(closed_at=closed_at)
    )
    if pipeline is not None:
        closed = closed.filter(pipeline=pipeline)
    closed_sql, closed_params = closed.values(
        "pk", "status", "owner_id", "closed_at"
    ).query.sql_with_params()
    sql = f"""
        SELECT pairs.to_stage_id, COALESCE(pairs.owner_id, 0), pairs.status,
               width_bucket(GREATEST(pairs.entered, pairs.closed_at), %s::timestamptz[]), COUNT(*)
        FROM (
            SELECT sc.to_stage_id, d.status, d.owner_id, d.closed_at, MIN(sc.at) AS entered
            FROM {StageChange._meta.db_table} sc JOIN ({closed_sql}) d ON d.pk = sc.deal_id
            WHERE sc.to_stage_id IS NOT NULL AND sc.at < %s
            GROUP BY sc.deal_id, sc.to_stage_id, d.status, d.owner_id, d.closed_at
        ) pairs
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - a table name and the ORM's own SQL; every value is a parameter
    buckets: dict[int, list[tuple[int, int, bool, int]]] = defaultdict(list)
    with roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, [cutoffs, *closed_params, cutoffs[-1]])
        for stage_id, owner_id, status, bucket, n in cursor.fetchall():
            buckets[bucket].append((stage_id, owner_id, status == Deal.Status.WON, int(n)))
    return _cumulated(buckets, cutoffs, days)


def _cumulated(
    buckets: dict[int, list[tuple[int, int, bool, int]]],
    cutoffs: list[dt.datetime],
    days: list[dt.datetime],
) -> list[dict[int, dict[int, Counts]]]:
    """The counts of each day: the pairs of buckets 0 … its index among the sorted cutoffs."""
    running: dict[int, dict[int, Counts]] = defaultdict(dict)
    by_cutoff = {}
    for index, cutoff in enumerate(cutoffs):
        for stage_id, owner_id, won, n in buckets.get(index, []):
            closed, wins = running[stage_id].get(owner_id, (0, 0))
            running[stage_id][owner_id] = (closed + n, wins + (n if won else 0))
        by_cutoff[cutoff] = {stage: dict(owners) for stage, owners in running.items()}
    return [by_cutoff[day] for day in days]


def owner_teams() -> dict[int, frozenset[int]]:
    """{user id: the ids of their fellow members in every team they are in (them included)}."""
    members: dict[int, set[int]] = defaultdict(set)
    teams_of: dict[int, set[int]] = defaultdict(set)
    for team_id, user_id in Team.members.through.objects.values_list("team_id", "user_id"):
        members[team_id].add(user_id)
        teams_of[user_id].add(team_id)
    return {
        user: frozenset().union(*(members[t] for t in teams)) for user, teams in teams_of.items()
    }


def _fit_stage(
    stage: StageModel, by_owner: dict[int, Counts], owner_teams: dict[int, frozenset[int]]
) -> None:
    """Fill a stage's rates from its (closed, won) counts per owner."""
    stage.closed, stage.won = _added_up(by_owner)
    stage.rep_counts = by_owner
    if not stage.closed:
        return
    shrunk = shrink(by_owner, owner_teams)
    stage.teams, stage.reps, stage.weights = shrunk.teams, shrunk.reps, shrunk.weights


@dataclass
class Shrunk:
    """Rates shrunk pipeline → team → rep, per owner: their team's, their own, and how many
    deals' worth stand behind their own (own deals + the prior's strength: the concentration
    of its beta posterior)."""

    rate: float
    teams: dict[int, float]
    reps: dict[int, float]
    weights: dict[int, float]


def shrink(
    by_owner: Mapping[int, tuple[float, float]], owner_teams: dict[int, frozenset[int]]
) -> Shrunk:
    """Each owner's (tries, successes) shrunk toward their team's pooled rate, itself shrunk
    toward everyone's (owner 0: nobody's, counts for everyone's only)."""
    tries = sum(n for n, _ in by_owner.values())
    rate = sum(w for _, w in by_owner.values()) / tries if tries else 0.0
    groups = {owner_teams[o] for o in by_owner if o in owner_teams}
    pooled = {g: _pool(by_owner, g) for g in groups}
    k_team = _strength([(n, w, rate) for n, w in pooled.values()])
    team_rate = {g: _posterior(n, w, rate, k_team) for g, (n, w) in pooled.items()}
    teams = {o: team_rate[g] for o, g in owner_teams.items() if g in team_rate}
    reps = [o for o in by_owner if o]
    priors = {o: teams.get(o, rate) for o in reps}
    k_rep = _strength([(*by_owner[o], priors[o]) for o in reps])
    return Shrunk(
        rate=rate,
        teams=teams,
        reps={o: _posterior(*by_owner[o], priors[o], k_rep) for o in reps},
        weights={o: by_owner.get(o, (0, 0))[0] + k_rep for o in {*reps, *teams}},
    )


def _pool(
    by_owner: Mapping[int, tuple[float, float]], members: frozenset[int]
) -> tuple[float, float]:
    found = [by_owner[m] for m in members if m in by_owner]
    return sum(n for n, _ in found), sum(w for _, w in found)


def _posterior(closed: float, won: float, prior: float, strength: float) -> float:
    """Posterior mean of a beta prior of mean `prior` worth `strength` deals."""
    return (won + strength * prior) / (closed + strength)


def _strength(groups: list[tuple[float, float, float]]) -> float:
    """The prior strength k from (closed, won, prior mean) per group, by the method of moments.

    With a beta prior of strength k, a group's rate p̂ = won/closed has variance
    m(1−m)/n · (1 + (n − 1)ρ) around its prior mean m, where ρ = 1/(k + 1). So
    Σ n(p̂ − m)²/(m(1 − m)) is expected to be G + ρ·Σ(n − 1) over G groups: solve for ρ.
    """
    usable = [(n, w, m) for n, w, m in groups if n > 0 and 0 < m < 1]
    spread = sum(n - 1 for n, _, _ in usable)
    if len(usable) < 2 or spread <= 0:
        return DEFAULT_STRENGTH
    score = sum(n * (w / n - m) ** 2 / (m * (1 - m)) for n, w, m in usable)
    rho = (score - len(usable)) / spread
    if rho <= 0:
        return MAX_STRENGTH
    return min(MAX_STRENGTH, max(MIN_STRENGTH, 1 / rho - 1))


def _expected_at_entry() -> Cast:
    """A stage change's deal's expected close date at the time of the change, from the deal's
    close-date changes: the last value set before it, else the value the first later change
    replaced (None: never changed; the deal's own date then stands)."""
    changes = FieldChange.objects.filter(deal_id=OuterRef("deal_id"), field="expected_close_date")
    before = changes.filter(at__lte=OuterRef("at")).order_by("-at", "-id").values("new_value")[:1]
    after = changes.filter(at__gt=OuterRef("at")).order_by("at", "id").values("old_value")[:1]
    text = Coalesce(
        NullIf(Subquery(before, output_field=CharField()), _empty()),
        NullIf(Subquery(after, output_field=CharField()), _empty()),
    )
    return Cast(text, DateField())


def _empty() -> Value:
    return Value("", output_field=CharField())


def _slip_counts(
    pipeline: Pipeline | None, as_of: dt.datetime | None
) -> dict[str, dict[int, list[int]]]:
    """{kind: {stage id: [won deals closing 0, 1, 2, … periods after the expected one]}} from
    the stage entries of the `SLIP_SAMPLE` deals won last before `as_of` (plenty to learn a few
    shares from, recent, and a bounded cost at any size): two queries, the deals first (their
    won month and own expected close date), then their entries, which reach no other deal."""
    won = Deal.objects.filter(status=Deal.Status.WON, won_at__isnull=False)
    if as_of is not None:
        won = won.filter(won_at__lt=as_of)
    if pipeline is not None:
        won = won.filter(pipeline=pipeline)
    recent = {
        pk: (as_date(won_month), as_date(expected))
        for pk, won_month, expected in won.annotate(
            won_month=TruncMonth("won_at", output_field=DateField())
        )
        .order_by("-won_at")
        .values_list("pk", "won_month", "expected_close_date")[:SLIP_SAMPLE]
    }
    entries: QuerySet[StageChange] = StageChange.objects.filter(
        deal_id__in=list(recent), to_stage__kind=Stage.Kind.OPEN
    )
    if as_of is not None:
        entries = entries.filter(at__lt=as_of)
    rows = (
        entries.annotate(
            expected_month=TruncMonth(_expected_at_entry(), output_field=DateField()),
            entry_month=TruncMonth("at", output_field=DateField()),
        )
        .values("deal_id", "to_stage_id", "expected_month", "entry_month")
        .annotate(n=Count("id"))
        .order_by()
    )
    slips: dict[str, dict[int, list[int]]] = {"month": {}, "quarter": {}}
    for row in rows:
        won_month, own = recent[row["deal_id"]]
        expected = as_date(row["expected_month"]) or (own and own.replace(day=1))
        months = _month_offsets(row | {"expected_month": expected, "won_month": won_month})
        if months is None:
            continue
        for kind, offset in zip(("month", "quarter"), months, strict=True):
            counts = slips[kind].setdefault(row["to_stage_id"], [])
            counts.extend([0] * (offset + 1 - len(counts)))
            counts[offset] += row["n"]
    return slips


def _month_offsets(row: Mapping[str, Any]) -> tuple[int, int] | None:
    """(months, quarters) from the expected period (or the entry's, when already overdue) to
    the period won in; never below 0."""
    expected, won, entry = (as_date(row[k]) for k in ("expected_month", "won_month", "entry_month"))
    if expected is None or won is None or entry is None:
        return None
    start = max(expected, entry)
    months = (won.year - start.year) * 12 + won.month - start.month
    quarters = (won.year - start.year) * 4 + (won.month - 1) // 3 - (start.month - 1) // 3
    return max(0, months), max(0, quarters)


def _pooled(slips: dict[str, dict[int, list[int]]]) -> dict[str, list[int]]:
    """Every stage's offset counts added up, per kind."""
    pooled: dict[str, list[int]] = {}
    for kind, by_stage in slips.items():
        total: list[int] = []
        for counts in by_stage.values():
            total.extend([0] * (len(counts) - len(total)))
            for i, n in enumerate(counts):
                total[i] += n
        pooled[kind] = total
    return pooled
