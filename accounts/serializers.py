"""JSON shapes of users and teams (SPEC §8). Writes go through `accounts.services`."""

from typing import Any, ClassVar

from rest_framework import serializers

from accounts.models import Role, Team, User


class UserSerializer(serializers.ModelSerializer[User]):
    role = serializers.ChoiceField(
        choices=Role.choices, required=False, help_text="rep (the default), manager or admin."
    )
    teams = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Team.objects.all(),
        required=False,
        help_text="Teams the user is a member of.",
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        max_length=128,
        trim_whitespace=False,
        # Empty is none, in JSON as in a form (where DRF reads an empty field as left out).
        allow_blank=True,
        style={"input_type": "password"},
        help_text=(
            "Validated by the password rules, stored hashed. Creating a user without one "
            "(or with an empty one) invites them: they get an e-mail with a link to choose it "
            "(`email` is then required)."
        ),
    )
    username = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Required with a password; an invited user's defaults to their e-mail.",
    )
    is_active = serializers.BooleanField(
        read_only=True,
        help_text="False once deactivated (POST …/deactivate/, …/reactivate/).",
    )
    invited = serializers.BooleanField(
        source="is_invited",
        read_only=True,
        help_text="Invited and has not chosen a password yet.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "teams",
            "password",
            "is_active",
            "invited",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("password") and not attrs.get("email"):
            raise serializers.ValidationError(
                {"password": ["A new user needs a password, or an e-mail to be invited by."]}
            )
        if self.instance is None and attrs.get("password") and not attrs.get("username"):
            raise serializers.ValidationError({"username": ["This field is required."]})
        return attrs


class DeactivateUserSerializer(serializers.Serializer[dict[str, Any]]):
    reassign_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=(
            "The active user who takes over their open deals, leads in play, companies, "
            "contacts and planned activities; by default a manager of their team, else you."
        ),
    )


class TeamSerializer(serializers.ModelSerializer[Team]):
    managers = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.all(), required=False
    )
    members = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.all(), required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "managers", "members"]
        # Uniqueness (ignoring case) is the service's rule, answered as a field error.
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {"name": {"validators": []}}


class TokenRequestSerializer(serializers.Serializer[dict[str, str]]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="For users with two-factor sign-in: the current code from their "
        "authenticator app, or one of their recovery codes.",
    )


class TokenSerializer(serializers.Serializer[dict[str, str]]):
    token = serializers.CharField(read_only=True)
