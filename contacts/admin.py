"""Django admin for companies, contacts and leads (admins only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import AdminsOnly
from contacts.models import Company, Contact, Lead
from contacts.services import refresh_lead_score


@admin.register(Company)
class CompanyAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "size", "owner", "created_at"]
    list_filter = ["size", "industry"]
    search_fields = ["name", "domain"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner"]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "title", "company", "owner", "created_at"]
    # Owners listed are only those who own contacts, not every user of the CRM.
    list_filter = [
        "company__industry",
        ("owner", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    search_fields = ["first_name", "last_name", "email", "company__name"]
    autocomplete_fields = ["company", "owner"]
    list_select_related = ["company", "owner"]
    show_full_result_count = False


@admin.register(Lead)
class LeadAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = [
        "__str__",
        "company_name",
        "email",
        "source",
        "status",
        "score",
        "owner",
        "created_at",
    ]
    list_filter = ["status", "source", "authority"]
    search_fields = ["first_name", "last_name", "email", "company_name"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner"]
    readonly_fields = ["score", "score_breakdown", "converted_at", "created_at", "updated_at"]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The score follows the qualification facts, however they were edited.
        refresh_lead_score(lead=obj)
