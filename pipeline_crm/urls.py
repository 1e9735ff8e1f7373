from django.contrib import admin
from django.urls import include, path

from pipeline_crm import views

handler404 = views.not_found

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("accounts.urls")),  # before Django's auth pages: it overrides one
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("pipeline_crm.api_urls")),
    path("", include("deals.urls")),
    path("", include("followups.urls")),
    path("", include("people.urls")),
    path("", include("forecasting.urls")),
    path("", include("integrations.urls")),
    path("", include("imports.urls")),
    path("", include("search.urls")),
]
