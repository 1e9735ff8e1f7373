"""Django admin for pipelines, stages, deals and their history (admins only).

Deals are created on the board or through the API, and their stage and status change only
through the services (move / won / lost / reopen), so here a deal's other fields are edited
through `update_deal`, which records the history the forecast depends on.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin import AdminsOnly, ReadOnlyHistory
from deals import services
from deals.models import Deal, FieldChange, Pipeline, Stage, StageChange


class StageInline(admin.TabularInline):
    model = Stage
    fields = ["order", "name", "kind", "probability", "stall_days", "is_commit"]
    ordering = ["order"]
    extra = 0
    show_change_link = True


@admin.register(Pipeline)
class PipelineAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["name", "is_default", "stage_count", "created_at"]
    list_filter = ["is_default"]
    search_fields = ["name"]
    inlines = [StageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pipeline]:
        return super().get_queryset(request).annotate(stage_total=Count("stages"))

    @admin.display(description="stages", ordering="stage_total")
    def stage_count(self, pipeline: Any) -> int:
        return pipeline.stage_total


@admin.register(Stage)
class StageAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = [
        "name",
        "pipeline",
        "order",
        "kind",
        "probability",
        "stall_days",
        "required_fields",
        "is_commit",
    ]
    list_filter = ["pipeline", "kind", "is_commit"]
    search_fields = ["name", "pipeline__name"]
    list_select_related = ["pipeline"]
    ordering = ["pipeline", "order"]


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fields = ("at", "from_stage_name", "to_stage_name", "by")
    readonly_fields = ("at", "from_stage_name", "to_stage_name", "by")
    ordering = ["at", "id"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


SYSTEM_DEAL_FIELDS = (
    "pipeline",
    "stage",
    "status",
    "position",
    "version",
    "stage_entered_at",
    "last_activity_at",
    "won_at",
    "lost_at",
    "lost_reason",
    "stalled",
    "stall_reasons",
    "stalled_since",
    "close_date_pushes",
    "created_at",
    "updated_at",
)


@admin.register(Deal)
class DealAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = [
        "title",
        "stage",
        "status",
        "amount",
        "currency",
        "owner",
        "company",
        "expected_close_date",
        "stalled",
        "updated_at",
    ]
    list_filter = ["status", "stalled", "pipeline", "stage", "currency"]
    search_fields = ["title", "company__name", "owner__username"]
    autocomplete_fields = ["owner", "company", "contact"]
    raw_id_fields = ["lead"]
    list_select_related = ["stage", "owner", "company"]
    readonly_fields = SYSTEM_DEAL_FIELDS
    fieldsets = (
        (None, {"fields": services.EDITABLE_DEAL_FIELDS}),
        ("Pipeline (changed by moves on the board or the API)", {"fields": SYSTEM_DEAL_FIELDS}),
    )
    inlines = [StageChangeInline]
    # A changelist over 100,000 deals need not count them twice.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Deal, form: Any, change: bool) -> None:
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.EDITABLE_DEAL_FIELDS
        }
        if changes:
            current = Deal.objects.get(pk=obj.pk)
            services.update_deal(deal=current, by=request.user, changes=changes)  # type: ignore[arg-type]


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ["at", "deal", "from_stage_name", "to_stage_name", "by"]
    list_filter = ["to_stage"]
    search_fields = ["deal__title"]
    raw_id_fields = ["deal"]
    list_select_related = ["deal", "by"]
    show_full_result_count = False


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ["at", "deal", "field", "old_value", "new_value", "by"]
    list_filter = ["field"]
    search_fields = ["deal__title"]
    raw_id_fields = ["deal"]
    list_select_related = ["deal", "by"]
    show_full_result_count = False
