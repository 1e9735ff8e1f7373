"""What the inbound poll recorded, for CRM admins to read (the BCC addresses stay their owners'
secret and are not shown)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnly, TypedModelAdmin
from mailin.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnly, TypedModelAdmin[InboundMessage]):
    list_display = ["sent_at", "sender", "subject", "status", "user", "activities_logged"]
    list_filter = ["status"]
    search_fields = ["message_id", "sender", "subject"]
