"""JSON shapes of activities and notifications (SPEC §8). Writes go through
`followups.services`."""

from rest_framework import serializers

from accounts.models import User
from followups.models import Activity, Notification
from pipeline_crm.api import VisiblePrimaryKeyRelatedField
from pipeline_crm.bounds import year_in_range


class ActivitySerializer(serializers.ModelSerializer[Activity]):
    # The deal, lead, contact and company an activity is linked to: ids of records the caller
    # can see (others read as "does not exist"), each model's own `visible_to` deciding.
    serializer_related_field = VisiblePrimaryKeyRelatedField

    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="You, if omitted."
    )
    body = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    done = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="On create: log it as already done now (notes always are).",
    )
    done_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        validators=[year_in_range],
        help_text=(
            "On create: when it was done (not in the future); the activity is logged as done,"
            " with no reminder. Completing a planned one goes through complete/."
        ),
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "due_at",
            "remind_at",
            "done_at",
            "owner",
            "deal",
            "contact",
            "lead",
            "company",
            "done",
        ]
        # The model has a default, which would make `kind` optional; the service needs it.
        extra_kwargs = {
            "kind": {"required": True},
            "due_at": {"validators": [year_in_range]},
            "remind_at": {"validators": [year_in_range]},
        }


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "deal", "created_at", "read_at"]
        read_only_fields = fields


class ReadAllSerializer(serializers.Serializer[dict[str, int]]):
    marked = serializers.IntegerField(read_only=True, help_text="How many were unread.")
