"""GET /api/audit/: the audit log, newest first, for admins only (others 403, anonymous 401);
the page's filters (`audit.filters.AuditFilter`) and `?format=csv`. Read-only: no method
writes an entry."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from accounts.permissions import AdminsOnly
from audit.filters import AuditFilter
from audit.models import AuditEntry
from audit.serializers import AuditEntrySerializer
from pipeline_crm.csv_api import CsvListMixin


class AuditAdminsOnly(AdminsOnly):
    message = "Only admins read the audit log."


class AuditEntryViewSet(CsvListMixin[AuditEntry], viewsets.ReadOnlyModelViewSet[AuditEntry]):
    """Sign-ins and their failures, lockouts, user and role changes, API tokens, CSV exports,
    imports and merges: who, when, from which IP, to what."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    permission_classes = [AuditAdminsOnly]
    queryset = AuditEntry.objects.all()

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return AuditEntry.objects.order_by("-at", "-id")
