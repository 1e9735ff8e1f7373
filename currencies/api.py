"""/api/exchange-rates/: every signed-in user reads the rates; admins add and delete them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.serializers import BaseSerializer

from accounts.permissions import AdminWritesOrReadOnly
from currencies import services
from currencies.models import ExchangeRate
from currencies.serializers import ExchangeRateSerializer
from pipeline_crm.api import ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin


class ExchangeRateViewSet(
    CsvListMixin[ExchangeRate],
    ServiceViewSetMixin[ExchangeRate],
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ExchangeRate],
):
    """Exchange rates: `rate` units of the reporting currency per unit of `currency`, from
    `valid_from` until the currency's next rate. A rate is added or deleted, never changed."""

    serializer_class = ExchangeRateSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = ExchangeRate.objects.all()

    def get_queryset(self) -> QuerySet[ExchangeRate]:
        return ExchangeRate.objects.order_by("currency", "-valid_from", "id")

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.set_rate(by=self.actor, **serializer.validated_data)

    def perform_destroy(self, instance: ExchangeRate) -> None:
        services.delete_rate(by=self.actor, rate=instance)
