"""JSON shapes of webhooks and their deliveries (SPEC §9). Writes go through
`integrations.services`, which also checks the URL and the event names."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from integrations.models import Delivery, Event, Webhook


class WebhookSerializer(serializers.ModelSerializer[Webhook]):
    url = serializers.CharField(
        max_length=2000, help_text="http(s) URL on a public address (private ones only in DEBUG)."
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        allow_empty=False,
        help_text="Event names it receives.",
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Signs every delivery. Made up when absent; shown once, in the create answer.",
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "active", "secret"]


class CreatedWebhookSerializer(WebhookSerializer):
    """The create answer: the one time the secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="Keep it: it is not shown again.")

    class Meta(WebhookSerializer.Meta):
        pass

    def to_representation(self, instance: Webhook) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["secret"] = instance.secret
        return data


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "status_code",
            "attempts",
            "delivered_at",
            "next_attempt_at",
            "error",
        ]
        read_only_fields = fields
