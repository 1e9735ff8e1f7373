"""/api/activities/ (+ complete/) and /api/notifications/ (+ read/, read-all/) (SPEC §8).

Thin: reads go through `visible_to(user)` (404 outside sight), writes through
`followups.services`, which check write permission (403) and the rules.
"""

from typing import cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from followups import services
from followups.models import Activity, Notification
from followups.serializers import ActivitySerializer, NotificationSerializer, ReadAllSerializer
from pipeline_crm.api import BooleanFilter, IdFilter, ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin


class ActivityFilter(filters.FilterSet):
    deal = IdFilter(field_name="deal")
    lead = IdFilter(field_name="lead")
    contact = IdFilter(field_name="contact")
    company = IdFilter(field_name="company")
    owner = IdFilter(field_name="owner")
    done = BooleanFilter(
        field_name="done_at", lookup_expr="isnull", exclude=True, label="true: done; false: planned"
    )

    class Meta:
        model = Activity
        fields = ["deal", "lead", "contact", "company", "owner", "done"]


class ActivityViewSet(
    CsvListMixin[Activity], ServiceViewSetMixin[Activity], viewsets.ModelViewSet[Activity]
):
    """Calls, e-mails, meetings, tasks and notes you may see (by their owner)."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    queryset = Activity.objects.all()

    def get_queryset(self) -> QuerySet[Activity]:
        return Activity.objects.visible_to(self.request.user)

    def perform_create(self, serializer: BaseSerializer[Activity]) -> None:
        serializer.instance = services.log_activity(by=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Activity]) -> None:
        activity = cast(Activity, serializer.instance)
        # Only what actually changes: a PUT of what was read must not trip the service's
        # "cannot be changed here" on links and owner that stay the same.
        changes = {
            name: value
            for name, value in serializer.validated_data.items()
            if name != "done" and getattr(activity, name) != value
        }
        serializer.instance = services.update_activity(
            activity=activity, by=self.actor, changes=changes
        )

    def perform_destroy(self, instance: Activity) -> None:
        services.delete_activity(activity=instance, by=self.actor)

    @extend_schema(
        request=None,
        responses={
            200: ActivitySerializer,
            403: OpenApiResponse(description="Not yours to change."),
        },
        summary="Mark a planned activity done (its reminder will not fire).",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        activity = services.complete_activity(activity=self.get_object(), by=self.actor)
        return Response(self.get_serializer(activity).data)


# --- notifications --------------------------------------------------------------------------------


class NotificationFilter(filters.FilterSet):
    unread = BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["unread"]


class NotificationViewSet(
    CsvListMixin[Notification],
    ServiceViewSetMixin[Notification],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Notification],
):
    """Your own notifications, newest first; nobody else's are reachable."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.all()

    def get_queryset(self) -> QuerySet[Notification]:
        return Notification.objects.visible_to(self.request.user)

    @extend_schema(request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = services.mark_notification_read(
            notification=self.get_object(), by=self.actor
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses={200: ReadAllSerializer})
    @action(detail=False, methods=["post"], url_path="read-all", filterset_class=None)
    def read_all(self, request: Request) -> Response:
        marked = services.mark_all_notifications_read(by=self.actor)
        return Response({"marked": marked})
