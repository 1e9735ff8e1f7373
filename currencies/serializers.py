from __future__ import annotations

from rest_framework import serializers

from currencies.models import ExchangeRate


class ExchangeRateSerializer(serializers.ModelSerializer[ExchangeRate]):
    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "rate", "valid_from"]
        extra_kwargs = {"currency": {"help_text": "ISO 4217 code in capitals, e.g. EUR."}}
        validators: list[object] = []  # one rate a currency a day: the service says which field


class UnconvertedSerializer(serializers.Serializer[object]):
    """Deals a total leaves out because their currency has no exchange rate."""

    currency = serializers.CharField()
    deals = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=24, decimal_places=2)
