"""Django admin for quotas and the daily forecast snapshots (admins only)."""

from django.contrib import admin

from accounts.admin import AdminsOnly, ReadOnlyHistory
from forecasting.models import ForecastSnapshot, Quota


@admin.register(Quota)
class QuotaAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["__str__", "user", "team", "period", "period_start", "amount"]
    list_filter = ["period", "team", "period_start"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ["taken_on", "deal", "stage", "owner", "status", "amount", "probability"]
    list_filter = ["taken_on", "status", "pipeline"]
    search_fields = ["deal__title"]
    raw_id_fields = ["deal", "owner"]
    list_select_related = ["deal", "stage", "owner"]
    show_full_result_count = False
