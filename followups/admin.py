"""Django admin for activities and notifications (admins only)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import AdminsOnly
from followups.models import Activity, Notification


@admin.register(Activity)
class ActivityAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["subject", "kind", "owner", "deal", "due_at", "remind_at", "done_at"]
    list_filter = ["kind", ("done_at", admin.EmptyFieldListFilter), "due_at"]
    search_fields = ["subject", "body", "deal__title"]
    autocomplete_fields = ["owner", "company", "contact"]
    raw_id_fields = ["deal", "lead"]
    readonly_fields = ["reminded_at", "created_at"]
    list_select_related = ["owner", "deal"]
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "message", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "user__username", "dedupe_key"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["deal"]
    readonly_fields = ["dedupe_key", "created_at"]
    list_select_related = ["user"]
    show_full_result_count = False
