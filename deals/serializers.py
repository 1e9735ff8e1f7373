"""JSON shapes of pipelines, stages and deals (SPEC §8).

Serializers only parse and validate input; the API views hand the result to `deals.services`.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from contacts.models import Company, Contact, Lead
from deals.models import Deal, LostReason, Pipeline, Stage
from pipeline_crm.api import VisiblePrimaryKeyRelatedField

# Deal fields that change only through move/, won/, lost/ and reopen/ (SPEC §8).
WORKFLOW_FIELDS = {
    "stage": "The stage changes only through POST /api/deals/{id}/move/ (or won/).",
    "status": "The status changes only through move/, won/, lost/ or reopen/.",
    "pipeline": "A deal stays in its pipeline; create a new deal for another pipeline.",
}


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise serializers.ValidationError("Use a three-letter ISO 4217 code such as USD or EUR.")
    return code


# --- pipelines and stages ---------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer[Stage]):
    required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=Stage.REQUIRABLE_FIELDS),
        required=False,
        max_length=len(Stage.REQUIRABLE_FIELDS),
        help_text="Deal fields a deal must have to enter this stage.",
    )
    guidance = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    order = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=(
            "1 is the first column; others shift to make room. Omitted on create: an open stage"
            " goes before the first won or post-sale stage, any other at the end."
        ),
    )

    class Meta:
        model = Stage
        fields = [
            "id",
            "pipeline",
            "name",
            "order",
            "kind",
            "probability",
            "stall_days",
            "required_fields",
            "guidance",
        ]
        # The service places the stage and keeps (pipeline, order) unique by shifting the others.
        validators: list[Any] = []

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        moved = (
            self.instance is not None
            and isinstance(data, Mapping)
            and "pipeline" in data
            and str(data["pipeline"]) != str(self.instance.pipeline_id)
        )
        if moved:
            raise serializers.ValidationError(
                {"pipeline": ["A stage cannot move to another pipeline."]}
            )
        parsed: dict[str, Any] = super().to_internal_value(data)
        return parsed


class PipelineSerializer(serializers.ModelSerializer[Pipeline]):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "stages"]
        # One default pipeline: the service hands the flag over instead of refusing it.
        validators: list[Any] = []
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {"is_default": {"validators": []}}


class StageDeleteSerializer(serializers.Serializer[Any]):
    destination = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(),
        required=False,
        allow_null=True,
        help_text="Stage of the same pipeline that receives the deleted stage's deals.",
    )


# --- deals --------------------------------------------------------------------------------------


class DealSerializer(serializers.ModelSerializer[Deal]):
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, help_text="Default pipeline if omitted."
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(),
        required=False,
        help_text="Only on create (first open stage if omitted); then use move/.",
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="You, if omitted."
    )
    # Linked records are read through their model's `visible_to`: an id out of sight is
    # refused as one that does not exist (companies and contacts: everyone signed in reads).
    company = VisiblePrimaryKeyRelatedField(
        queryset=Company.objects.all(), required=False, allow_null=True
    )
    contact = VisiblePrimaryKeyRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True
    )
    lead = VisiblePrimaryKeyRelatedField(
        queryset=Lead.objects.all(), required=False, allow_null=True
    )
    probability = serializers.SerializerMethodField(
        help_text="Effective win probability: the override, else the stage's."
    )
    currency = serializers.CharField(required=False, max_length=3)

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "pipeline",
            "stage",
            "status",
            "amount",
            "currency",
            "expected_close_date",
            "probability",
            "probability_override",
            "owner",
            "company",
            "contact",
            "lead",
            "position",
            "version",
            "stage_entered_at",
            "last_activity_at",
            "stalled",
            "stall_reasons",
            "won_at",
            "lost_at",
            "lost_reason",
            "lost_reason_detail",
            "next_step",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "position",
            "version",
            "stage_entered_at",
            "last_activity_at",
            "stalled",
            "stall_reasons",
            "won_at",
            "lost_at",
            "lost_reason",
            "lost_reason_detail",
            "created_at",
            "updated_at",
        ]

    # The version a PATCH/PUT was based on, if the client sent one (a stale one answers 409).
    expected_version: int | None = None

    @extend_schema_field(serializers.IntegerField(min_value=0, max_value=100))
    def get_probability(self, deal: Deal) -> int:
        """Annotated by the API's reads (`with_effective_probability`); a deal a write just
        returned is read again with the annotation, so the rule is computed in one place."""
        annotated = getattr(deal, "effective_probability", None)
        if annotated is None:
            annotated = (
                Deal.objects.with_effective_probability()
                # The stubs know model fields, not annotations.
                .values_list("effective_probability", flat=True)  # type: ignore[misc]
                .get(pk=deal.pk)
            )
        return int(annotated)

    def validate_currency(self, value: str) -> str:
        return _currency(value)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if self.instance is not None and isinstance(data, Mapping):
            refused = {name: [message] for name, message in WORKFLOW_FIELDS.items() if name in data}
            if refused:
                raise serializers.ValidationError(refused)
            if data.get("version") is not None:
                self.expected_version = _version(data["version"])
        parsed: dict[str, Any] = super().to_internal_value(data)
        return parsed


def _version(raw: Any) -> int:
    try:
        version: int = serializers.IntegerField(min_value=0).run_validation(raw)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"version": exc.detail}) from exc
    return version


class MoveValuesSerializer(serializers.Serializer[Any]):
    """Fields the target stage requires, filled in the same transaction as the move."""

    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    expected_close_date = serializers.DateField(required=False)
    company = VisiblePrimaryKeyRelatedField(queryset=Company.objects.all(), required=False)
    contact = VisiblePrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False)
    next_step = serializers.CharField(required=False, max_length=300)


class MoveSerializer(serializers.Serializer[Any]):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    version = serializers.IntegerField(
        min_value=0, help_text="The version you last read; a stale one answers 409."
    )
    position = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**31 - 1,  # an index, not a database value: refused here, not by the database
        help_text=(
            "An index among the deals you see in that column, lost ones left out: 0 is the top"
            " of the column, an index past the end its bottom. Without it: the top of a column"
            " the deal enters, its place in its own."
        ),
    )
    values = MoveValuesSerializer(required=False)


class WonSerializer(serializers.Serializer[Any]):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    version = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class LostSerializer(serializers.Serializer[Any]):
    """Why a deal is lost: `lost_reason`, an entry of /api/lost-reasons/, with free text in
    `lost_reason_detail` when that entry allows other. The older `reason` (free text) is still
    taken when it names an entry (case and spaces aside); any other text is refused."""

    lost_reason = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="An active lost reason's id."
    )
    lost_reason_detail = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Only with an “other” entry."
    )
    reason = serializers.CharField(
        max_length=300, required=False, help_text="Deprecated: an entry's name instead of its id."
    )
    version = serializers.IntegerField(min_value=0, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        reason = attrs.pop("lost_reason", None)
        if reason is None and "reason" in attrs:
            named = LostReason.objects.named(attrs["reason"])
            if named is None:
                raise serializers.ValidationError(
                    {"reason": ["No lost reason has this name: send `lost_reason` (an id)."]}
                )
            reason = named.pk
        if reason is None:
            raise serializers.ValidationError({"lost_reason": ["Say why the deal was lost."]})
        attrs.pop("reason", None)
        attrs["reason"] = reason
        attrs["detail"] = attrs.pop("lost_reason_detail", "")
        return attrs


class LostReasonSerializer(serializers.ModelSerializer[LostReason]):
    class Meta:
        model = LostReason
        fields = ["id", "name", "active", "order", "allows_other"]
        extra_kwargs = {
            "order": {"required": False},
            "allows_other": {"help_text": "Picking it asks for free text (an “Other” entry)."},
        }


class ReopenSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class HistoryEntrySerializer(serializers.Serializer[Any]):
    """One step of a deal's history: a move (`stage`) or a tracked field change (`field`).

    For a move, `field` is "stage" and `old`/`new` hold the stage names, which survive the
    deletion of a stage (its id then reads null).
    """

    at = serializers.DateTimeField()
    by = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=["stage", "field"])
    from_stage = serializers.IntegerField(allow_null=True)
    to_stage = serializers.IntegerField(allow_null=True)
    field = serializers.CharField()
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)
