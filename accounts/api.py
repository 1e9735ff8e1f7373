"""/api/users/, /api/teams/ and token login.

Every signed-in user reads users and teams (owner pickers and team filters need them); only
admins create, change or delete them, through `accounts.services`.
"""

from typing import cast

from django.contrib.auth import authenticate
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from accounts import services, two_factor
from accounts.middleware import ENROL_FIRST
from accounts.models import Team, User
from accounts.permissions import AdminWritesOrReadOnly
from accounts.serializers import (
    DeactivateUserSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)
from accounts.sign_in import check_second_factor
from pipeline_crm.api import ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin

REFUSED = OpenApiResponse(description="Bad input or a business rule refused it (field messages).")


class TokenView(APIView):
    """POST username and password, get the API token to send as `Authorization: Token <key>`."""

    # A stale token or session must not block a fresh login.
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        given = TokenRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=given.validated_data["username"],
            password=given.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with the username and password given."]}
            )
        self._check_second_factor(request, user, given.validated_data.get("otp", ""))
        token = services.issue_api_token(user=user)
        return Response({"token": token.key}, status=status.HTTP_200_OK)

    @staticmethod
    def _check_second_factor(request: Request, user: User, code: str) -> None:
        """A user with two-factor sign-in also sends `otp`; a wrong one counts as a failed
        sign-in (django-axes), like a wrong password. With ADMIN_TWO_FACTOR_REQUIRED an admin
        without it gets no token until they set it up."""
        if two_factor.must_enrol(user):
            raise serializers.ValidationError({"non_field_errors": [ENROL_FIRST]})
        if not two_factor.has_two_factor(user):
            return
        if not code.strip():
            raise serializers.ValidationError({"otp": [two_factor.NO_CODE]})
        check = check_second_factor(request._request, user, code)
        if check.device is None:
            raise serializers.ValidationError({"otp": [check.refusal]})


class UserViewSet(CsvListMixin[User], ServiceViewSetMixin[User], viewsets.ModelViewSet[User]):
    serializer_class = UserSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = User.objects.all()

    def get_queryset(self) -> QuerySet[User]:
        # `role` reads the user's groups: prefetched, a page of users costs two extra queries.
        return User.objects.prefetch_related("groups", "teams").order_by("username")

    def perform_create(self, serializer: BaseSerializer[User]) -> None:
        data = dict(serializer.validated_data)
        if data.get("password"):
            serializer.instance = services.create_user(by=self.actor, **data)
        else:
            data.pop("password", None)
            serializer.instance = services.invite_user(by=self.actor, **data)

    def perform_update(self, serializer: BaseSerializer[User]) -> None:
        serializer.instance = services.update_user(
            user=cast(User, serializer.instance), by=self.actor, changes=serializer.validated_data
        )

    def perform_destroy(self, instance: User) -> None:
        services.delete_user(user=instance, by=self.actor)

    @extend_schema(
        request=DeactivateUserSerializer,
        responses={200: UserSerializer, 400: REFUSED},
        summary="Deactivate: no more sign-in; their open work goes to `reassign_to`.",
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        user = services.deactivate_user(
            user=self.get_object(), by=self.actor, **self.parse_input(DeactivateUserSerializer)
        )
        return Response(self.get_serializer(user).data)

    @extend_schema(
        request=None,
        responses={200: UserSerializer, 400: REFUSED},
        summary="Reactivate: they may sign in again.",
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        user = services.reactivate_user(user=self.get_object(), by=self.actor)
        return Response(self.get_serializer(user).data)

    @extend_schema(
        request=None,
        responses={200: UserSerializer, 400: REFUSED},
        summary="Send the invitation e-mail again (users who have not chosen a password yet).",
    )
    @action(detail=True, methods=["post"], url_path="resend-invitation")
    def resend_invitation(self, request: Request, pk: str | None = None) -> Response:
        user = services.resend_invitation(user=self.get_object(), by=self.actor)
        return Response(self.get_serializer(user).data)


class TeamViewSet(CsvListMixin[Team], ServiceViewSetMixin[Team], viewsets.ModelViewSet[Team]):
    serializer_class = TeamSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = Team.objects.all()

    def get_queryset(self) -> QuerySet[Team]:
        only_ids = User.objects.only("pk")
        return Team.objects.prefetch_related(
            Prefetch("managers", queryset=only_ids), Prefetch("members", queryset=only_ids)
        ).order_by("name")

    def perform_create(self, serializer: BaseSerializer[Team]) -> None:
        serializer.instance = services.create_team(by=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Team]) -> None:
        serializer.instance = services.update_team(
            team=cast(Team, serializer.instance), by=self.actor, changes=serializer.validated_data
        )

    def perform_destroy(self, instance: Team) -> None:
        services.delete_team(team=instance, by=self.actor)
