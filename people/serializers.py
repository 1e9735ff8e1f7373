"""JSON shapes of companies, contacts and leads (SPEC §8). Writes go through `contacts.services`."""

from typing import Any

from rest_framework import serializers

from accounts.models import User
from contacts.models import Company, Contact, Lead, ScoringRule
from contacts.scoring import FIELDS, describe
from deals.models import Pipeline
from pipeline_crm.api import VisiblePrimaryKeyRelatedField


def _owner_field() -> serializers.PrimaryKeyRelatedField[User]:
    return serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="You, if omitted."
    )


class CompanySerializer(serializers.ModelSerializer[Company]):
    owner = _owner_field()

    class Meta:
        model = Company
        fields = ["id", "name", "domain", "industry", "size", "owner"]

    def validate_domain(self, value: str) -> str:
        # Stored bare and lower-case, so "dedupe by domain" matches however it was typed.
        domain = value.strip().lower().removeprefix("https://").removeprefix("http://")
        return domain.removeprefix("www.").rstrip("/")


class ContactSerializer(serializers.ModelSerializer[Contact]):
    owner = _owner_field()
    company = VisiblePrimaryKeyRelatedField(
        queryset=Company.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Contact
        fields = ["id", "first_name", "last_name", "email", "phone", "title", "company", "owner"]

    def validate_email(self, value: str) -> str:
        return value.strip()


class LeadSerializer(serializers.ModelSerializer[Lead]):
    owner = _owner_field()
    need = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company_name",
            "source",
            "status",
            "need",
            "budget",
            "authority",
            "timeline",
            "owner",
            "score",
            "score_breakdown",
            "learned_score",
        ]
        read_only_fields = ["score", "score_breakdown", "learned_score"]

    def validate_status(self, value: str) -> str:
        if value == Lead.Status.DISQUALIFIED and (
            self.instance is None or self.instance.status != Lead.Status.DISQUALIFIED
        ):
            raise serializers.ValidationError(
                "Disqualify through POST /api/leads/{id}/disqualify/ with a reason."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        names = ("first_name", "last_name", "company_name", "email")
        if self.instance is None and not any(str(attrs.get(n, "")).strip() for n in names):
            raise serializers.ValidationError(
                {"first_name": ["Give at least a name, a company name or an e-mail."]}
            )
        return attrs


class ConvertLeadSerializer(serializers.Serializer[Any]):
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(),
        required=False,
        allow_null=True,
        help_text="Default pipeline if omitted.",
    )
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Company or person if omitted."
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="The lead's budget if omitted.",
    )


class DisqualifyLeadSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300)


class ScoringRuleSerializer(serializers.ModelSerializer[ScoringRule]):
    """A lead scoring rule. `value` is a string, number, true/false or (for `in`) a list, as the
    field wants; `contacts.services.save_scoring_rule` checks it (400 with field errors)."""

    field = serializers.ChoiceField(choices=list(FIELDS))
    operator = serializers.ChoiceField(choices=ScoringRule.Operator.choices)
    value = serializers.JSONField(required=False, allow_null=True)
    points = serializers.IntegerField(min_value=-100, max_value=100)
    description = serializers.SerializerMethodField()

    class Meta:
        model = ScoringRule
        fields = ["id", "field", "operator", "value", "points", "description"]

    def get_description(self, rule: ScoringRule) -> str:
        return describe(rule)


class ScoringFeatureSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    weight = serializers.FloatField()


class ScoringModelSerializer(serializers.Serializer[Any]):
    """The learned model in use; before there is one, `trained_at` is null and `detail` says how
    many leads with an outcome there are (`samples`) of the number needed."""

    trained_at = serializers.DateTimeField(allow_null=True)
    samples = serializers.IntegerField()
    auc = serializers.FloatField(allow_null=True)
    features = ScoringFeatureSerializer(many=True)
    detail = serializers.CharField()
