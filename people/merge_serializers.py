"""JSON shapes of merges, duplicate groups and the conversion preview (SPEC §9 Merge)."""

from typing import Any

from rest_framework import serializers


class MergeSerializer(serializers.Serializer[Any]):
    other = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="The record merged into this one, then deleted.",
    )


class MergeResultSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The record kept.")
    moved = serializers.DictField(
        child=serializers.IntegerField(), help_text="What moved to it: e.g. deals → 3."
    )
    filled = serializers.ListField(
        child=serializers.CharField(), help_text="Its empty fields filled from the other."
    )


class DuplicateRecordSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")
    email = serializers.CharField(required=False, default="")
    domain = serializers.CharField(required=False, default="")
    owner = serializers.IntegerField(source="owner_id")


class DuplicateGroupSerializer(serializers.Serializer[Any]):
    reasons = serializers.ListField(
        child=serializers.ChoiceField(
            choices=["same name", "similar name", "same e-mail", "same domain"]
        )
    )
    records = DuplicateRecordSerializer(many=True, help_text="Oldest first.")

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["reasons"] = sorted(instance.reasons)
        return data


class PreviewPartSerializer(serializers.Serializer[Any]):
    reused = serializers.IntegerField(allow_null=True, help_text="Id of the record reused.")
    created = serializers.CharField(
        allow_blank=True, help_text="Name of the record it will create ('' for none)."
    )


class ConversionPreviewSerializer(serializers.Serializer[Any]):
    company = PreviewPartSerializer()
    contact = PreviewPartSerializer()
    expected_close_date = serializers.DateField(
        allow_null=True, help_text="The deal's, from the lead's “decides by”."
    )
    activities = serializers.IntegerField(help_text="Activities that will move to the deal.")
