"""/api/: every app's viewsets, token login, schema and docs."""

from typing import cast

from django.conf import settings
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# Swagger UI (the split view loads its start-up script as a file, not inline) styles itself with
# a <style> block and style attributes: its page alone allows inline styles.
API_DOCS_CSP: dict[str, list[str]] = {
    **cast("dict[str, list[str]]", settings.SECURE_CSP),
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
}
# templates/api_docs.html: Swagger UI's page with a link back to the app above it.
api_docs = csp_override(API_DOCS_CSP)(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html")
)

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("deals.api_urls")),
    path("", include("currencies.api_urls")),
    path("", include("followups.api_urls")),
    path("", include("people.api_urls")),
    path("", include("forecasting.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("imports.api_urls")),
    path("", include("search.api_urls")),
    path("", include("audit.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
]
