"""/api/auth/token/, /api/users/, /api/teams/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import TeamViewSet, TokenView, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="api-user")
router.register("teams", TeamViewSet, basename="api-team")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *router.urls,
]
