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
        style={"input_type": "password"},
        help_text="Required when creating a user; validated by the password rules, stored hashed.",
    )

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "role", "teams", "password"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": ["A new user needs a password."]})
        return attrs


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


class TokenSerializer(serializers.Serializer[dict[str, str]]):
    token = serializers.CharField(read_only=True)
