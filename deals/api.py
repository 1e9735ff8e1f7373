"""REST endpoints for pipelines, stages and deals (SPEC §8).

Thin: each view reads through `visible_to(user)` (404 outside sight), parses with a serializer
and calls one service, which checks write permission (403) and the business rules.
"""

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.permissions import AdminWritesOrReadOnly
from deals import services
from deals.models import Deal, DealQuerySet, LostReason, Pipeline, Stage
from deals.serializers import (
    DealSerializer,
    HistoryEntrySerializer,
    LostReasonSerializer,
    LostSerializer,
    MoveSerializer,
    PipelineSerializer,
    ReopenSerializer,
    StageDeleteSerializer,
    StageSerializer,
    WonSerializer,
)
from deals.services.positions import deal_ids_around_index
from pipeline_crm.api import IdFilter, ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin

STALE = OpenApiResponse(
    response=inline_serializer(
        "StaleDeal",
        {
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "deal": DealSerializer(),
        },
    ),
    description="The version is stale: someone changed the deal. The body holds the current deal.",
)
REFUSED = OpenApiResponse(description="Bad input or a business rule refused it (field messages).")
FORBIDDEN = OpenApiResponse(description="You may see this deal but not change it.")


# --- pipelines and stages ---------------------------------------------------------------------


def _ordered_stages() -> "Prefetch[Any, Any, Any]":
    return Prefetch("stages", queryset=Stage.objects.order_by("order"))


class PipelineViewSet(
    CsvListMixin[Pipeline], ServiceViewSetMixin[Pipeline], viewsets.ModelViewSet[Pipeline]
):
    """Pipelines with their stages in board order. Everyone reads; admins write."""

    serializer_class = PipelineSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = Pipeline.objects.all()

    def get_queryset(self) -> QuerySet[Pipeline]:
        return Pipeline.objects.prefetch_related(_ordered_stages()).order_by("-is_default", "name")

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.create_pipeline(by=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.update_pipeline(
            pipeline=cast(Pipeline, serializer.instance),
            by=self.actor,
            changes=serializer.validated_data,
        )

    def perform_destroy(self, instance: Pipeline) -> None:
        services.delete_pipeline(pipeline=instance, by=self.actor)


class StageFilter(filters.FilterSet):
    pipeline = IdFilter(field_name="pipeline")

    class Meta:
        model = Stage
        fields = ["pipeline"]


@extend_schema_view(
    destroy=extend_schema(
        parameters=[
            OpenApiParameter(
                "destination",
                int,
                description="Stage of the same pipeline that receives this stage's deals "
                "(required when it holds any; may also be sent in the body).",
            )
        ],
        responses={204: None, 400: REFUSED},
    )
)
class StageViewSet(CsvListMixin[Stage], ServiceViewSetMixin[Stage], viewsets.ModelViewSet[Stage]):
    """Stages; admins add, change, reorder (`order`) and delete them."""

    serializer_class = StageSerializer
    permission_classes = [AdminWritesOrReadOnly]
    filterset_class = StageFilter
    queryset = Stage.objects.all()

    def get_queryset(self) -> QuerySet[Stage]:
        return Stage.objects.order_by("pipeline_id", "order")

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.create_stage(by=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        changes = dict(serializer.validated_data)
        changes.pop("pipeline", None)  # a stage stays in its pipeline (the serializer says so)
        serializer.instance = services.update_stage(
            stage=cast(Stage, serializer.instance), by=self.actor, changes=changes
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        stage = self.get_object()
        parsed = StageDeleteSerializer(data=_destination_input(request))
        parsed.is_valid(raise_exception=True)
        services.delete_stage(
            stage=stage, by=self.actor, destination=parsed.validated_data.get("destination")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _destination_input(request: Request) -> dict[str, Any]:
    """`destination` from the query string or, failing that, the body."""
    if "destination" in request.query_params:
        return {"destination": request.query_params["destination"]}
    if isinstance(request.data, Mapping) and "destination" in request.data:
        return {"destination": request.data["destination"]}
    return {}


class LostReasonViewSet(
    CsvListMixin[LostReason],
    ServiceViewSetMixin[LostReason],
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[LostReason],
):
    """The list of lost reasons, in order. Everyone reads; admins add, rename, deactivate
    (`active: false`) and reorder (`order`) them. An entry is never deleted: lost deals keep it."""

    serializer_class = LostReasonSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = LostReason.objects.all()

    def get_queryset(self) -> QuerySet[LostReason]:
        return LostReason.objects.order_by("order", "id")

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.create_lost_reason(
            by=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.update_lost_reason(
            reason=cast(LostReason, serializer.instance),
            by=self.actor,
            changes=serializer.validated_data,
        )


# --- deals ----------------------------------------------------------------------------------------


class DealFilter(filters.FilterSet):
    pipeline = IdFilter(field_name="pipeline")
    stage = IdFilter(field_name="stage")
    owner = IdFilter(field_name="owner")
    status = filters.ChoiceFilter(choices=Deal.Status.choices)
    q = filters.CharFilter(
        method="search", max_length=200, label="Text in the title or the company name."
    )

    class Meta:
        model = Deal
        fields = ["pipeline", "stage", "owner", "status", "q"]

    def filter_queryset(self, queryset: QuerySet[Deal]) -> QuerySet[Deal]:
        # Newest first (a backward walk of the primary key: fast at any size); one column in
        # board order, top card first.
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("stage") is not None:
            return queryset.order_by("position", "id")
        return queryset.order_by("-id")

    def search(self, queryset: DealQuerySet, name: str, value: str) -> QuerySet[Deal]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.matching(value)


@extend_schema_view(
    update=extend_schema(responses={200: DealSerializer, 400: REFUSED, 403: FORBIDDEN, 409: STALE}),
    partial_update=extend_schema(
        responses={200: DealSerializer, 400: REFUSED, 403: FORBIDDEN, 409: STALE}
    ),
)
class DealViewSet(CsvListMixin[Deal], ServiceViewSetMixin[Deal], viewsets.ModelViewSet[Deal]):
    """Deals you may see, newest first (with `?stage=`: in board order, top card first).

    `stage` and `status` change only through move/won/lost/reopen.

    A PATCH/PUT may carry the `version` it was based on: a stale one answers 409.
    """

    serializer_class = DealSerializer
    filterset_class = DealFilter
    queryset = Deal.objects.all()

    def get_queryset(self) -> QuerySet[Deal]:
        # One query per page whatever the size: visibility is a subquery, the effective
        # probability an annotation over a join, every relation an id.
        return Deal.objects.with_effective_probability().visible_to(self.request.user)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.create_deal(by=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.update_deal(
            deal=cast(Deal, serializer.instance),
            by=self.actor,
            changes=serializer.validated_data,
            version=cast(DealSerializer, serializer).expected_version,
        )

    def perform_destroy(self, instance: Deal) -> None:
        services.delete_deal(deal=instance, by=self.actor)

    def _answer(self, deal: Deal, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(deal).data, status=code)

    @extend_schema(
        request=MoveSerializer,
        responses={200: DealSerializer, 400: REFUSED, 403: FORBIDDEN, 409: STALE},
        summary="Move the deal to a stage (or within its column) at a position.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        parsed = self.parse_input(MoveSerializer)
        position = parsed.pop("position", None)
        after_id: int | None = None
        before_id: int | None = None
        if position is not None:  # an index among the deals the caller sees: the card there
            after_id, before_id = deal_ids_around_index(
                parsed["stage"], position, viewer=self.actor, moving=deal
            )
        moved = services.move_deal(
            deal=deal, by=self.actor, after_id=after_id, before_id=before_id, **parsed
        )
        return self._answer(moved)

    @extend_schema(
        request=WonSerializer,
        responses={200: DealSerializer, 400: REFUSED, 403: FORBIDDEN, 409: STALE},
        summary="Mark the deal won: it enters its pipeline's won stage.",
    )
    @action(detail=True, methods=["post"])
    def won(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        return self._answer(
            services.mark_won(deal=deal, by=self.actor, **self.parse_input(WonSerializer))
        )

    @extend_schema(
        request=LostSerializer,
        responses={200: DealSerializer, 400: REFUSED, 403: FORBIDDEN, 409: STALE},
        summary="Mark the deal lost, for an active lost reason (free text only with an “other”"
        " one); it stays in the stage it was lost in.",
    )
    @action(detail=True, methods=["post"])
    def lost(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        return self._answer(
            services.mark_lost(deal=deal, by=self.actor, **self.parse_input(LostSerializer))
        )

    @extend_schema(
        request=ReopenSerializer,
        responses={200: DealSerializer, 400: REFUSED, 403: FORBIDDEN, 409: STALE},
        summary="Reopen a lost deal in the stage it was lost in.",
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        return self._answer(
            services.reopen_deal(deal=deal, by=self.actor, **self.parse_input(ReopenSerializer))
        )

    @extend_schema(
        responses={200: HistoryEntrySerializer(many=True)},
        summary="Moves and tracked field changes, oldest first.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        return Response(HistoryEntrySerializer(deal_history(deal), many=True).data)


def deal_history(deal: Deal) -> list[dict[str, Any]]:
    """StageChange and FieldChange rows merged into one timeline (moves first on a tie)."""
    timeline: list[tuple[tuple[Any, int, int], dict[str, Any]]] = []
    for move in deal.stage_changes.all():
        entry = {
            "at": move.at,
            "by": move.by_id,
            "kind": "stage",
            "from_stage": move.from_stage_id,
            "to_stage": move.to_stage_id,
            "field": "stage",
            "old": move.from_stage_name,
            "new": move.to_stage_name,
        }
        timeline.append(((move.at, 0, move.pk), entry))
    for edit in deal.field_changes.all():
        entry = {
            "at": edit.at,
            "by": edit.by_id,
            "kind": "field",
            "from_stage": None,
            "to_stage": None,
            "field": edit.field,
            "old": edit.old_value,
            "new": edit.new_value,
        }
        timeline.append(((edit.at, 1, edit.pk), entry))
    timeline.sort(key=lambda item: item[0])
    return [entry for _, entry in timeline]
