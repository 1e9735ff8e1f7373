"""/api/webhooks/ (SPEC §9): admins only (others 403, anonymous 401). Thin: every change goes
through `integrations.services`."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import AdminsOnly
from integrations import services
from integrations.models import Delivery, Webhook
from integrations.serializers import (
    CreatedWebhookSerializer,
    DeliverySerializer,
    WebhookSerializer,
)
from pipeline_crm.api import ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin


class WebhookAdminsOnly(AdminsOnly):
    message = "Only admins configure webhooks."


class WebhookViewSet(
    CsvListMixin[Webhook], ServiceViewSetMixin[Webhook], viewsets.ModelViewSet[Webhook]
):
    """Webhooks: URLs that receive signed JSON deliveries of the events they subscribe to."""

    serializer_class = WebhookSerializer
    permission_classes = [WebhookAdminsOnly]
    queryset = Webhook.objects.all()

    def get_queryset(self) -> QuerySet[Webhook]:
        return Webhook.objects.order_by("created_at", "id")

    @extend_schema(responses={201: CreatedWebhookSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        parsed = self.parse_input(WebhookSerializer)
        webhook = services.create_webhook(by=self.actor, **parsed)
        return Response(CreatedWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update_webhook(
            webhook=cast(Webhook, serializer.instance),
            by=self.actor,
            changes=serializer.validated_data,
        )

    def perform_destroy(self, instance: Webhook) -> None:
        services.delete_webhook(webhook=instance, by=self.actor)

    @extend_schema(responses={200: DeliverySerializer(many=True)}, summary="The delivery log.")
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        webhook = self.get_object()
        log: Any = webhook.deliveries.order_by("-created_at", "id")  # not this view's model
        if self.csv_asked():
            return self.csv_of(log, DeliverySerializer())  # type: ignore[return-value]
        page = self.paginate_queryset(log)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer},
        summary="Send a delivery's event again (a new delivery with its own id).",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9a-fA-F-]{32,36})/resend",
        serializer_class=DeliverySerializer,
    )
    def resend(self, request: Request, pk: str | None = None, delivery_id: str = "") -> Response:
        webhook = self.get_object()
        try:
            delivery_uuid = uuid.UUID(delivery_id)
        except ValueError as exc:
            raise Http404("No such delivery.") from exc
        delivery = get_object_or_404(Delivery, webhook=webhook, pk=delivery_uuid)
        resent = services.resend_delivery(delivery=delivery, by=self.actor)
        return Response(DeliverySerializer(resent).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: DeliverySerializer}, summary="Send a test ping.")
    @action(detail=True, methods=["post"], serializer_class=DeliverySerializer)
    def ping(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.send_ping(webhook=self.get_object(), by=self.actor)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
