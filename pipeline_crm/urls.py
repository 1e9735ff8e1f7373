from django.contrib import admin
from django.urls import include, path

from pipeline_crm import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("accounts.urls")),  # before Django's auth pages: it overrides one
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("pipeline_crm.api_urls")),
    path("", include("deals.urls")),
    path("", include("currencies.urls")),
    path("", include("followups.urls")),
    path("", include("people.urls")),
    path("", include("forecasting.urls")),
    path("", include("integrations.urls")),
    path("", include("imports.urls")),
    path("", include("search.urls")),
    path("", include("mailin.urls")),
    path("", include("audit.urls")),
]

# An unknown address: JSON 404 under /api/. Unexpected errors: 503 "try again" when the
# database connection was lost, else 500; JSON under /api/ (pipeline_crm.error_answers).
handler404 = "pipeline_crm.error_answers.not_found"
handler500 = "pipeline_crm.error_answers.server_error"
