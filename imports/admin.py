"""Imports in the admin, for CRM admins: to look at, not to change (the API and the page run
them; an undo goes through `imports.services`)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnly, TypedModelAdmin
from imports.models import Import


@admin.register(Import)
class ImportAdmin(ReadOnly, TypedModelAdmin[Import]):
    list_display = ["id", "kind", "status", "created_by", "total_rows", "error_rows", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["created_by"]
    search_fields = ["file_name", "created_by__username"]
