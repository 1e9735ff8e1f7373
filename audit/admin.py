"""The audit log in the Django admin, for CRM admins: to read, never to add, change or delete
(`ReadOnly`); the retention purge alone removes entries."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnly, TypedModelAdmin
from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly, TypedModelAdmin[AuditEntry]):
    list_display = ["at", "actor_label", "action", "target_type", "target_label", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_label", "target_label"]
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
