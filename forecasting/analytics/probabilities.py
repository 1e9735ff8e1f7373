"""Stage probabilities: configured and learned, and a deal's probability as SQL.

A deal's probability is its override, else its stage's probability: the configured one, or the
learned one (`forecasting.analytics.learning`: the pipeline's rate per stage, refined per team
and rep by shrinkage; the same for every viewer).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce

from deals.models import Pipeline, Stage, effective_probability
from forecasting.analytics.learning import LearnedModel, learn_model, reached_totals
from forecasting.analytics.scope import HUNDRED, PERCENT, Scope

COMMIT_MIN_PROBABILITY = 70
BEST_CASE_MIN_PROBABILITY = 40


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
        """Share won (0–1, four places) of the closed deals that reached the stage; None
        before any has closed."""
        if not self.closed:
            return None
        return (Decimal(self.won) / Decimal(self.closed)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    @property
    def learned_percent(self) -> Decimal | None:
        return None if self.learned is None else self.learned * HUNDRED


def stage_probabilities(scope: Scope) -> list[StageProbability]:
    """Configured and learned probability of every stage of the scope's pipeline (every
    pipeline when none), with the closed deals behind it: the pipeline-wide figure, learned
    from every closed deal whoever looks (a closed deal counts for every stage it reached)."""
    stages = Stage.objects.select_related("pipeline").order_by("pipeline__name", "order")
    if scope.pipeline is not None:
        stages = stages.filter(pipeline=scope.pipeline)
    totals = reached_totals(scope.pipeline)
    result = []
    for stage in stages:
        closed, won = totals.get(stage.pk, (0, 0))
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


@dataclass(frozen=True)
class LearnedForDeal:
    """What the learned forecast weighs one open deal by, and the closed deals behind it."""

    percent: Decimal  # the owner's figure for the stage (the pipeline's, shrunk toward theirs)
    pipeline_percent: Decimal  # the stage's figure over the whole pipeline
    own_closed: int  # the owner's closed deals that reached the stage
    pipeline_closed: int  # every closed deal of the pipeline that reached it


def learned_for_deal(*, stage_id: int, owner_id: int, pipeline: Pipeline) -> LearnedForDeal | None:
    """The learned probability of a deal in this stage owned by `owner_id` (the same for every
    viewer); None while no deal that reached the stage has closed (the configured one
    stands)."""
    model = learn_model(pipeline=pipeline, timing=False)
    closed = model.behind(stage_id=stage_id, owner_id=None)
    if not closed:
        return None
    return LearnedForDeal(
        percent=model.percent(stage_id=stage_id, owner_id=owner_id),
        pipeline_percent=model.percent(stage_id=stage_id, owner_id=None),
        own_closed=model.behind(stage_id=stage_id, owner_id=owner_id),
        pipeline_closed=closed,
    )


def probability_expression(learned: LearnedModel | None = None) -> Coalesce:
    """SQL for a deal's probability in percent (`deals.models.effective_probability`), where
    the learned model, when given, stands in for the configured probabilities: per stage, the
    owner's figure where it differs from the pipeline's."""
    if learned is None:
        return effective_probability()
    return effective_probability(stage_probability(learned))


def stage_probability(learned: LearnedModel | None = None) -> Case | F:
    """SQL for the probability in percent of a row with a stage and an owner (a deal without
    an override, a board column's running total): its stage's configured one, or the learned
    one, the owner's figure where it differs from the pipeline's."""
    if learned is None:
        return F("stage__probability")
    whens = []
    for stage_id, stage in learned.stages.items():
        pipeline = Value(learned.percent(stage_id=stage_id, owner_id=None), output_field=PERCENT)
        owners = [
            When(owner_id=owner_id, then=Value(percent, output_field=PERCENT))
            for owner_id in {*stage.reps, *stage.teams}
            if (percent := learned.percent(stage_id=stage_id, owner_id=owner_id)) != pipeline.value
        ]
        figure = Case(*owners, default=pipeline, output_field=PERCENT) if owners else pipeline
        whens.append(When(stage_id=stage_id, then=figure))
    return Case(*whens, default=F("stage__probability"), output_field=PERCENT)


def category_filters() -> dict[str, Q]:
    """Commit and best case, over the `prob` annotation. The categories of open deals are
    disjoint, so the third, pipeline, is what is left of the total: one filter less per deal."""
    commit = Q(stage__is_commit=True) | Q(prob__gte=COMMIT_MIN_PROBABILITY)
    best_case = ~commit & Q(prob__gte=BEST_CASE_MIN_PROBABILITY)
    return {"commit": commit, "best_case": best_case}
