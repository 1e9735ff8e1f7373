"""Django admin for quotas and the daily forecast snapshots (admins only).

Quotas are written through `forecasting.services`: set (create or replace) one for a rep or a
team and a period, change its amount, delete it. Snapshots are history: read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import ReadOnly, ServiceAdmin, TypedModelAdmin
from accounts.models import User
from forecasting import services
from forecasting.models import ForecastSnapshot, Quota


@admin.register(Quota)
class QuotaAdmin(ServiceAdmin[Quota]):
    list_display = ["__str__", "user", "team", "period", "period_start", "amount"]
    list_filter = ["period", "team", "period_start"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]

    def get_readonly_fields(self, request: HttpRequest, obj: Quota | None = None) -> list[str]:
        # Whose quota and for which period it is stays: `update_quota` changes the amount.
        return ["user", "team", "period", "period_start"] if obj is not None else []

    def create(self, by: User, data: dict[str, Any]) -> Quota:
        target = ("user", "team", "period", "period_start", "amount")
        return services.set_quota(by=by, **{name: data[name] for name in target})

    def update(self, by: User, record: Quota, changes: dict[str, Any]) -> Quota:
        return services.update_quota(quota=record, by=by, amount=changes["amount"])

    def delete(self, by: User, record: Quota) -> None:
        services.delete_quota(quota=record, by=by)


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(ReadOnly, TypedModelAdmin[ForecastSnapshot]):
    list_display = ["taken_on", "deal", "stage", "owner", "status", "amount", "probability"]
    list_filter = ["taken_on", "status", "pipeline"]
    search_fields = ["deal__title"]
    raw_id_fields = ["deal", "owner"]
    list_select_related = ["deal", "stage", "owner"]
    show_full_result_count = False
