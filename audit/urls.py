"""The audit log page (admins only): `/settings/audit/`."""

from django.urls import path

from audit import views

urlpatterns = [
    path("settings/audit/", views.audit_log, name="audit-log"),
]
