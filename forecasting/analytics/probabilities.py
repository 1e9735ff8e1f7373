"""Stage probabilities: configured and learned, and a deal's probability as SQL.

A deal's probability is its override, else its stage's probability: the configured one, or the
learned one (share of closed deals that reached the stage and were won) when asked for and when
at least `MIN_LEARNED_SAMPLE` closed deals stand behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce

from deals.models import Deal, Stage, StageChange, effective_probability
from forecasting.analytics.scope import HUNDRED, PERCENT, Scope, roomy_sort, scoped_deals

COMMIT_MIN_PROBABILITY = 70
BEST_CASE_MIN_PROBABILITY = 40
MIN_LEARNED_SAMPLE = 30


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
    """  # noqa: S608 - a table name and the ORM's own SQL; every value is a parameter
    with roomy_sort(), connection.cursor() as cursor:
        cursor.execute(sql, [Deal.Status.WON, *closed_params])
        return {stage_id: (int(n), int(won or 0)) for stage_id, n, won in cursor.fetchall()}


def learned_percents(scope: Scope) -> dict[int, Decimal]:
    """{stage id: learned probability in percent} for the stages with enough history."""
    percents = {p.stage_id: p.learned_percent for p in stage_probabilities(scope)}
    return {stage_id: percent for stage_id, percent in percents.items() if percent is not None}


def probability_expression(learned: Mapping[int, Decimal] | None = None) -> Coalesce:
    """SQL for a deal's probability in percent (`deals.models.effective_probability`), where
    the learned probabilities, when given, stand in for the configured ones of their stages."""
    if not learned:
        return effective_probability()
    whens = [
        When(stage_id=stage_id, then=Value(percent, output_field=PERCENT))
        for stage_id, percent in learned.items()
    ]
    return effective_probability(
        Case(*whens, default=F("stage__probability"), output_field=PERCENT)
    )


def category_filters() -> dict[str, Q]:
    """Commit and best case, over the `prob` annotation. The categories of open deals are
    disjoint, so the third, pipeline, is what is left of the total: one filter less per deal."""
    commit = Q(stage__is_commit=True) | Q(prob__gte=COMMIT_MIN_PROBABILITY)
    best_case = ~commit & Q(prob__gte=BEST_CASE_MIN_PROBABILITY)
    return {"commit": commit, "best_case": best_case}
