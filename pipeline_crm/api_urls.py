"""/api/: every app's viewsets, token login, schema and docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("deals.api_urls")),
    path("", include("followups.api_urls")),
    path("", include("people.api_urls")),
    path("", include("forecasting.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("imports.api_urls")),
    path("", include("search.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
