"""/api/imports/ and /api/imports/{id}/errors.csv."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from imports.api import ImportViewSet

router = SimpleRouter()
router.register("imports", ImportViewSet, basename="api-import")

urlpatterns = [
    path(
        "imports/<int:pk>/errors.csv",
        ImportViewSet.as_view({"get": "errors_csv"}),
        name="api-import-errors-csv",
    ),
    *router.urls,
]
