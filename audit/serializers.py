"""The JSON shape of an audit entry (read-only: entries are never written through the API)."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    action_label = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_label",
            "action",
            "action_label",
            "target_type",
            "target_id",
            "target_label",
            "ip",
            "details",
        ]
        read_only_fields = fields
