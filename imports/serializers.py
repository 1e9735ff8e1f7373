"""The import as the API shows it (SPEC §9), and the inputs of its actions."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from imports import services
from imports.columns import KINDS
from imports.models import Import


class RowErrorSerializer(serializers.Serializer[dict[str, Any]]):
    row = serializers.IntegerField(help_text="Spreadsheet row; the header is row 1.")
    column = serializers.CharField(help_text="The CSV column at fault; empty for the whole row.")
    message = serializers.CharField()


class ImportSerializer(serializers.ModelSerializer[Import]):
    # Named by SPEC §9. Declared fields leave the class attributes alone, so the serializer's
    # own `.errors` (validation errors) is untouched; only the type checker sees a clash.
    errors = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="The first 100 row errors."
    )
    # Read-only fields lose `allow_blank`: declared, so the schema allows the "" of an import
    # not committed yet.
    mode = serializers.ChoiceField(
        choices=Import.Mode.choices,
        allow_blank=True,
        read_only=True,
        help_text="How it was committed; empty until then.",
    )

    class Meta:
        model = Import
        fields = [
            "id",
            "kind",
            "status",
            "file_name",
            "mapping",
            "on_duplicate",
            "mode",
            "total_rows",
            "valid_rows",
            "error_rows",
            "progress",
            "created",
            "updated",
            "skipped",
            "failure",
            "errors",
            "created_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RowErrorSerializer(many=True))
    def get_errors(self, batch: Import) -> list[dict[str, Any]]:
        return services.first_errors(batch)


class MappingField(serializers.JSONField):
    """A JSON object CSV header → field, sent as a JSON string in a multipart form."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            if not data.strip():
                return {}
            try:
                data = json.loads(data)
            except ValueError:
                raise serializers.ValidationError("Give the mapping as a JSON object.") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise serializers.ValidationError("Map each CSV header (text) to a field name (text).")
        return data


class ImportUploadSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(help_text="The CSV file (UTF-8, `,` or `;`), at most 50 MB.")
    kind = serializers.ChoiceField(choices=list(KINDS))
    mapping = MappingField(
        required=False, help_text='JSON object: CSV header → field, e.g. {"E-mail": "email"}.'
    )
    on_duplicate = serializers.ChoiceField(
        choices=Import.OnDuplicate.values, default=Import.OnDuplicate.SKIP
    )


class CommitSerializer(serializers.Serializer[dict[str, Any]]):
    mode = serializers.ChoiceField(choices=Import.Mode.values)
