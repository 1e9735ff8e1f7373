"""Django admin for companies, contacts and leads (admins only), written through
`contacts.services` like every other page: ownership rules, unique e-mails and domains, and a
lead's score, which follows its qualification facts however they were edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from accounts.admin import ServiceAdmin
from accounts.models import User
from contacts.models import Company, Contact, Lead
from contacts.services import create_record, delete_record, disqualify_lead, update_record


class RecordAdmin[R: (Company, Contact, Lead)](ServiceAdmin[R]):
    """Companies, contacts and leads share their services: one owner rule for all three."""

    def create(self, by: User, data: dict[str, Any]) -> R:
        return create_record(self.model, by=by, fields=data)

    def update(self, by: User, record: R, changes: dict[str, Any]) -> R:
        return update_record(record, by=by, changes=changes)

    def delete(self, by: User, record: R) -> None:
        delete_record(record, by=by)


@admin.register(Company)
class CompanyAdmin(RecordAdmin[Company]):
    list_display = ["name", "domain", "industry", "size", "owner", "created_at"]
    list_filter = ["size", "industry"]
    search_fields = ["name", "domain"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner"]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(RecordAdmin[Contact]):
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
class LeadAdmin(RecordAdmin[Lead]):
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
    # The score is the service's (`refresh_lead_score`), the conversion `convert_lead`'s.
    readonly_fields = ["score", "score_breakdown", "converted_at", "created_at", "updated_at"]
    show_full_result_count = False

    def update(self, by: User, record: Lead, changes: dict[str, Any]) -> Lead:
        """Disqualifying has a service of its own: it needs a reason and spares converted leads."""
        if changes.get("status") != Lead.Status.DISQUALIFIED:
            return super().update(by, record, changes)
        del changes["status"]
        reason = changes.pop("disqualified_reason", record.disqualified_reason)
        if changes:
            record = super().update(by, record, changes)
        return disqualify_lead(lead=record, by=by, reason=reason)
