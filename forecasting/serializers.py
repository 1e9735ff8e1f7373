"""API shapes of the forecast and funnel (documented in the schema) and the quota resource."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Team, User
from currencies.serializers import UnconvertedSerializer
from forecasting.models import Quota


def money_field(**kwargs: Any) -> serializers.DecimalField:
    """Money as a decimal string with cents."""
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=True, **kwargs
    )


class ForecastFiguresSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(
        allow_null=True, help_text='"2026-12" or "2026-Q4"; "total"; null for no close date.'
    )
    weighted = money_field(help_text="Σ amount × probability, open deals.")
    commit = money_field(help_text="Open deals ≥ 70 % or in a commit stage.")
    best_case = money_field(help_text="Other open deals ≥ 40 %.")
    pipeline = money_field(help_text="The remaining open deals.")
    won = money_field(help_text="Won in the period (by won date).")
    quota = money_field(allow_null=True)
    gap = money_field(allow_null=True, help_text="quota − won.")
    attainment = serializers.FloatField(allow_null=True, help_text="won / quota, 0–1.")
    deals = serializers.IntegerField(help_text="Open deals due in the period.")
    won_deals = serializers.IntegerField()
    p10 = money_field(
        required=False,
        help_text="Learned probabilities only: open deals bring in less than this in 10 % of "
        "the simulated outcomes.",
    )
    p50 = money_field(required=False, help_text="Learned probabilities only: the median outcome.")
    p90 = money_field(
        required=False,
        help_text="Learned probabilities only: more than this in 10 % of the simulated outcomes.",
    )
    not_yet_in_pipeline = money_field(
        required=False,
        help_text="Learned probabilities only: expected wins of deals not created yet (learned "
        "from what deals created in past months won); in p10–p90, not in weighted.",
    )


class ForecastSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=["month", "quarter"])
    probabilities = serializers.ChoiceField(choices=["configured", "learned"])
    currency = serializers.CharField()
    since = serializers.DateField()
    until = serializers.DateField()
    periods = ForecastFiguresSerializer(many=True)
    totals = ForecastFiguresSerializer()
    unscheduled = ForecastFiguresSerializer(help_text="Open deals without an expected close date.")
    unconverted = UnconvertedSerializer(
        many=True,
        help_text="Deals left out of every figure (all currencies asked for): their currency "
        "has no exchange rate. Empty when nothing is left out or one currency is asked for.",
    )


class FunnelStageSerializer(serializers.Serializer[Any]):
    stage = serializers.IntegerField()
    name = serializers.CharField()
    entered = serializers.IntegerField(help_text="Deals that entered the stage in the range.")
    advanced = serializers.IntegerField(
        help_text="Of those, deals that later reached a later stage."
    )
    conversion = serializers.FloatField(
        allow_null=True,
        help_text="advanced / entered, 0–1; null: no next stage (post-sale or last stage).",
    )
    lost = serializers.IntegerField(help_text="Deals lost in this stage in the range.")
    median_days = serializers.FloatField(allow_null=True)
    p90_days = serializers.FloatField(allow_null=True)


class LostReasonCountSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class LostInStageSerializer(serializers.Serializer[Any]):
    stage = serializers.IntegerField(help_text="The stage the deals were lost in.")
    stage_name = serializers.CharField()
    reason = serializers.CharField(help_text="An entry of /api/lost-reasons/; empty if none.")
    count = serializers.IntegerField()


class FunnelSerializer(serializers.Serializer[Any]):
    pipeline = serializers.IntegerField(allow_null=True)
    since = serializers.DateField()
    until = serializers.DateField()
    currency = serializers.CharField()
    stages = FunnelStageSerializer(many=True)
    win_rate = serializers.FloatField(allow_null=True)
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    open_deals = serializers.IntegerField()
    average_deal_size = money_field(allow_null=True)
    cycle_days = serializers.FloatField(allow_null=True)
    velocity = money_field(
        allow_null=True, help_text="open deals × win rate × average deal size / cycle days"
    )
    bottleneck = serializers.IntegerField(
        allow_null=True, help_text="Stage with the longest median."
    )
    lost_reasons = LostReasonCountSerializer(many=True)
    lost_by_stage = LostInStageSerializer(
        many=True, help_text="Where deals are lost: the reasons per stage, in stage order."
    )


class MoveSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["new", "advanced", "slipped", "won", "lost"])
    title = serializers.CharField()
    count = serializers.IntegerField(help_text="Deals; /api/forecast/movement/deals/ lists them.")
    amount = money_field()


class MovementSerializer(serializers.Serializer[Any]):
    since = serializers.DateField(help_text="Moves from the start of this day.")
    period = serializers.CharField(help_text="month or quarter: what a slipped close date is.")
    currency = serializers.CharField()
    moves = MoveSerializer(many=True)


class MovementDealSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id")
    stage = serializers.IntegerField(source="stage_id")
    stage_name = serializers.CharField(source="stage.name")
    status = serializers.CharField()
    amount = money_field(allow_null=True)
    currency = serializers.CharField()
    expected_close_date = serializers.DateField(allow_null=True)


class QuotaSerializer(serializers.ModelSerializer[Quota]):
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    class Meta:
        model = Quota
        fields = ["id", "user", "team", "period", "period_start", "amount"]
        # The model's default would make `period` optional; a quota needs one said explicitly.
        extra_kwargs = {"period": {"required": True}}
        # Uniqueness is the service's job (it replaces an existing quota for the same slot).
        validators: list[Any] = []


class QuotaAmountSerializer(serializers.Serializer[Any]):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)


class BacktestRowSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(help_text='"2026-11" or "2026-Q4".')
    start = serializers.DateField(help_text="First day of the period: when the forecast is made.")
    pipeline_from = serializers.ChoiceField(
        choices=["snapshot", "history"],
        help_text="The pipeline at the start: that day's snapshot, or rebuilt from history.",
    )
    deals = serializers.IntegerField(help_text="Deals open at the start.")
    configured = money_field(help_text="Σ amount × configured probability, deals due in it.")
    learned = money_field(
        help_text="Σ amount × learned probability × share the timing model lands in the period, "
        "plus not_yet_in_pipeline."
    )
    not_yet_in_pipeline = money_field(
        help_text="Expected wins of deals created after the start (known then)."
    )
    p10 = money_field(help_text="Learned forecast: 10th percentile of the simulated outcomes.")
    p50 = money_field()
    p90 = money_field()
    won = money_field(help_text="Won in the period (by won date).")
    configured_error = serializers.FloatField(allow_null=True, help_text="(forecast − won) / won.")
    learned_error = serializers.FloatField(allow_null=True, help_text="(forecast − won) / won.")
    in_band = serializers.BooleanField(help_text="won lies within p10–p90.")
    brier_configured = serializers.FloatField(
        allow_null=True, help_text="Mean (probability − outcome)² of the deals since closed."
    )
    brier_learned = serializers.FloatField(allow_null=True)
    brier_deals = serializers.IntegerField(help_text="Deals open at the start and closed since.")


class BacktestSummarySerializer(serializers.Serializer[Any]):
    periods = serializers.IntegerField()
    configured_error = serializers.FloatField(
        allow_null=True, help_text="Mean absolute error, a share of won."
    )
    learned_error = serializers.FloatField(allow_null=True)
    learned_within_goal = serializers.IntegerField(
        help_text="Periods whose learned forecast is within 10 % of won."
    )
    coverage = serializers.FloatField(
        allow_null=True, help_text="Share of periods whose won lies within p10–p90."
    )
    brier_configured = serializers.FloatField(allow_null=True, help_text="Over all periods.")
    brier_learned = serializers.FloatField(allow_null=True)
    brier_deals = serializers.IntegerField()


class BacktestSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(help_text='"month" or "quarter".')
    currency = serializers.CharField()
    rows = BacktestRowSerializer(many=True)
    summary = BacktestSummarySerializer()
    scored_on = serializers.DateField(
        allow_null=True,
        help_text="Periods stored by the nightly job: their Brier scores count the deals closed "
        "by this day (null: every period computed now).",
    )
