"""GET /api/forecast/, GET /api/analytics/funnel/ and /api/quotas/ (SPEC §8).

The endpoints read the same filter form and call the same analytics functions as the dashboard,
so both always show the same numbers.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from deals.models import Deal
from forecasting import analytics, services, tables
from forecasting.forms import ForecastFilterForm
from forecasting.models import Quota
from forecasting.serializers import (
    BacktestSerializer,
    ForecastSerializer,
    FunnelSerializer,
    MovementDealSerializer,
    MovementSerializer,
    QuotaAmountSerializer,
    QuotaSerializer,
)
from pipeline_crm.csv_api import CsvListMixin


def _param(name: str, description: str, **kwargs: Any) -> OpenApiParameter:
    return OpenApiParameter(name, required=False, description=description, **kwargs)


SCOPE_PARAMETERS = [
    _param("pipeline", "Pipeline id (funnel: the default pipeline when omitted).", type=int),
    _param("team", "Team id: deals owned by its members.", type=int),
    _param("owner", "User id: deals owned by this rep.", type=int),
    _param(
        "currency",
        "Three-letter code: only the deals in this currency, figures in it. Omitted: every "
        "currency, converted to the reporting currency at today's exchange rates "
        "(/api/exchange-rates/); deals without a rate are left out and listed in `unconverted`.",
        type=str,
        pattern="^[A-Za-z]{3}$",
    ),
    _param("since", "First day of the range (YYYY-MM-DD).", type=OpenApiTypes.DATE),
    _param("until", "Last day of the range (YYYY-MM-DD).", type=OpenApiTypes.DATE),
]


HISTORY_PARAMETERS = [
    _param(
        "history_since",
        "First day of the history window (the dashboard's name; wins over since).",
        type=OpenApiTypes.DATE,
    ),
    _param(
        "history_until",
        "Last day of the history window (the dashboard's name; wins over until).",
        type=OpenApiTypes.DATE,
    ),
]


def _user(request: Request) -> User:
    """The authenticated user (every endpoint here requires authentication)."""
    return cast(User, request.user)


def _filters(request: Request) -> ForecastFilterForm:
    form = ForecastFilterForm(request.query_params, user=_user(request))
    if not form.is_valid():
        raise serializers.ValidationError(form.errors.get_json_data(escape_html=True))
    return form


class ForecastView(APIView):
    @extend_schema(
        summary="Weighted forecast by close period, with categories, won actuals and quota",
        parameters=[
            *SCOPE_PARAMETERS,
            _param("period", "month (default) or quarter.", enum=["month", "quarter"]),
            _param(
                "probabilities",
                "configured (default) or learned stage probabilities.",
                enum=["configured", "learned"],
            ),
        ],
        responses={200: ForecastSerializer},
    )
    def get(self, request: Request) -> Response:
        form = _filters(request)
        result = analytics.forecast(form.scope(), **form.options())
        return Response(result.as_dict())


class FunnelView(APIView):
    @extend_schema(
        summary="Stage funnel, time in stage, lost reasons, win rate, deal size, cycle, velocity",
        parameters=[*SCOPE_PARAMETERS, *HISTORY_PARAMETERS],
        responses={200: FunnelSerializer},
    )
    def get(self, request: Request) -> Response:
        form = _filters(request)
        since, until = form.history(keep_ahead=True)
        result = analytics.funnel(form.scope(), since=since, until=until)
        return Response(result.as_dict())


class AccuracyView(APIView):
    @extend_schema(
        summary="Backtest: each past period's forecast made at its start beside what was won",
        description=(
            "Configured and learned forecasts, the learned p10–p90, won, errors and Brier "
            "scores. since/until choose the periods (default: the last 12 months or 4 quarters)."
        ),
        parameters=[
            *SCOPE_PARAMETERS,
            _param("period", "month (default) or quarter.", enum=["month", "quarter"]),
        ],
        responses={200: BacktestSerializer},
    )
    def get(self, request: Request) -> Response:
        result = tables.backtest_result(_filters(request))
        return Response(BacktestSerializer(result.as_dict()).data)


MOVEMENT_PARAMETERS = [
    *SCOPE_PARAMETERS,
    *HISTORY_PARAMETERS,
    _param(
        "period",
        "month (default) or quarter: what a slipped close date is.",
        enum=["month", "quarter"],
    ),
]


class MovementView(APIView):
    @extend_schema(
        summary="What moved since the history window's first day: new, advanced, slipped, won, "
        "lost (counts and amounts)",
        parameters=MOVEMENT_PARAMETERS,
        responses={200: MovementSerializer},
    )
    def get(self, request: Request) -> Response:
        form = _filters(request)
        scope, since = form.scope(), form.history_start()
        result = analytics.movement_since(scope, since, period=form.options()["period"])
        moves = [
            {"kind": name, "title": analytics.MOVE_TITLES[name], "count": count, "amount": amount}
            for name, count, amount in result.rows()
        ]
        data = {"since": since, "period": result.kind, "currency": scope.currency_code}
        return Response(MovementSerializer({**data, "moves": moves}).data)


@extend_schema(
    summary="The deals behind one movement figure (as many as its count), in pages",
    parameters=[
        OpenApiParameter(
            "kind", required=True, enum=list(analytics.Movement.MOVES), description="The move."
        ),
        *MOVEMENT_PARAMETERS,
    ],
)
class MovementDealsView(generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = MovementDealSerializer
    # The schema generator reads the model here (it calls no get_queryset).
    queryset = Deal.objects.none()

    def get_queryset(self) -> QuerySet[Any]:
        form = _filters(self.request)
        move = self.request.query_params.get("kind", "")
        if move not in analytics.Movement.MOVES:
            choices = ", ".join(analytics.Movement.MOVES)
            raise serializers.ValidationError({"kind": [f"Choose one of {choices}."]})
        since, period = form.history_start(), form.options()["period"]
        return analytics.movement_deals(form.scope(), since, move=move, period=period)


class QuotaViewSet(
    CsvListMixin[Quota],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Quota],
):
    """Quotas per rep or team per month or quarter. Admins set any; managers their teams'."""

    serializer_class = QuotaSerializer
    # The schema generator calls get_queryset without a signed-in user: this tells it the model.
    queryset = Quota.objects.none()

    def get_queryset(self) -> QuerySet[Quota]:
        return Quota.objects.visible_to(_user(self.request)).newest_first()

    def perform_create(self, serializer: serializers.BaseSerializer[Quota]) -> None:
        data = serializer.validated_data
        serializer.instance = services.set_quota(
            by=_user(self.request),
            user=data.get("user"),
            team=data.get("team"),
            period=data["period"],
            period_start=data["period_start"],
            amount=data["amount"],
        )

    @extend_schema(request=QuotaAmountSerializer, responses={200: QuotaSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quota: Quota = self.get_object()
        payload = QuotaAmountSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        quota = services.update_quota(
            quota=quota, by=_user(request), amount=payload.validated_data["amount"]
        )
        return Response(QuotaSerializer(quota).data)

    @extend_schema(request=QuotaAmountSerializer, responses={200: QuotaSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: Quota) -> None:
        services.delete_quota(quota=instance, by=_user(self.request))
