"""Django admin for pipelines, stages, deals and their history (admins only).

Every write is a call of `deals.services`, like the board's and the API's: pipelines and stages
through the pipeline services (open boards reload), a deal's fields through `update_deal`, which
records the history the forecast depends on. Deals are created on the board or through the API,
and their stage and status change only by moves (move / won / lost / reopen), so here those are
read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin import (
    ReadOnly,
    ServiceAdmin,
    TypedModelAdmin,
    TypedModelForm,
    TypedTabularInline,
)
from accounts.models import User
from deals import services
from deals.forms import StageForm as SettingsStageForm
from deals.models import Deal, FieldChange, Pipeline, Stage, StageChange
from deals.services.pipelines import STAGE_SETTINGS


class StageInline(ReadOnly, TypedTabularInline[Stage, Pipeline]):
    """A pipeline's stages, read-only: each is changed on its own page (the change link), where
    `update_stage` places it and shifts the others; an inline formset would save rows itself."""

    model = Stage
    fields = readonly_fields = ("order", "name", "kind", "probability", "stall_days", "is_commit")
    ordering = ["order"]
    extra = 0
    show_change_link = True


class PipelineForm(TypedModelForm[Pipeline]):
    def validate_constraints(self) -> None:
        """A second default is no error: `update_pipeline` makes the previous default stop
        being one. (Names are still checked: `validate_unique`.)"""


@admin.register(Pipeline)
class PipelineAdmin(ServiceAdmin[Pipeline]):
    form = PipelineForm
    list_display = ["name", "is_default", "stage_count", "created_at"]
    list_filter = ["is_default"]
    search_fields = ["name"]
    inlines = [StageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pipeline]:
        return super().get_queryset(request).annotate(stage_total=Count("stages"))

    @admin.display(description="stages", ordering="stage_total")
    def stage_count(self, pipeline: Any) -> int:
        return int(pipeline.stage_total)

    def create(self, by: User, data: dict[str, Any]) -> Pipeline:
        return services.create_pipeline(by=by, name=data["name"], is_default=data["is_default"])

    def update(self, by: User, record: Pipeline, changes: dict[str, Any]) -> Pipeline:
        return services.update_pipeline(pipeline=record, by=by, changes=changes)

    def delete(self, by: User, record: Pipeline) -> None:
        services.delete_pipeline(pipeline=record, by=by)


class StageForm(TypedModelForm[Stage]):
    order = forms.IntegerField(
        min_value=1, required=False, help_text="Its place, 1 the first; empty: the last."
    )
    # The settings page's choice of the fields a deal needs (not the raw JSON of the model).
    required_fields = SettingsStageForm.base_fields["required_fields"]

    def validate_constraints(self) -> None:
        """No check that the order is free: the services give the stage that place and shift
        the others (the database's unique order holds after every statement)."""


@admin.register(Stage)
class StageAdmin(ServiceAdmin[Stage]):
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
    form = StageForm
    fields = ["pipeline", "order", *STAGE_SETTINGS]

    def get_readonly_fields(self, request: HttpRequest, obj: Stage | None = None) -> list[str]:
        # A stage stays in its pipeline (its deals could not follow it).
        return ["pipeline"] if obj is not None else []

    def create(self, by: User, data: dict[str, Any]) -> Stage:
        settings = {name: data[name] for name in STAGE_SETTINGS}
        return services.create_stage(
            by=by, pipeline=data["pipeline"], order=data["order"], **settings
        )

    def update(self, by: User, record: Stage, changes: dict[str, Any]) -> Stage:
        return services.update_stage(stage=record, by=by, changes=changes)

    def delete(self, by: User, record: Stage) -> None:
        # Without a destination a stage holding deals is refused (the settings page asks).
        services.delete_stage(stage=record, by=by)


class StageChangeInline(ReadOnly, TypedTabularInline[StageChange, Deal]):
    model = StageChange
    fields = readonly_fields = ("at", "from_stage_name", "to_stage_name", "by")
    ordering = ["at", "id"]
    extra = 0


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
    "lost_reason_detail",
    "stalled",
    "stall_reasons",
    "stalled_since",
    "close_date_pushes",
    "created_at",
    "updated_at",
)


@admin.register(Deal)
class DealAdmin(ServiceAdmin[Deal]):
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

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def update(self, by: User, record: Deal, changes: dict[str, Any]) -> Deal:
        return services.update_deal(deal=record, by=by, changes=changes)

    def delete(self, by: User, record: Deal) -> None:
        services.delete_deal(deal=record, by=by)


@admin.register(StageChange)
class StageChangeAdmin(ReadOnly, TypedModelAdmin[StageChange]):
    list_display = ["at", "deal", "from_stage_name", "to_stage_name", "by"]
    list_filter = ["to_stage"]
    search_fields = ["deal__title"]
    raw_id_fields = ["deal"]
    list_select_related = ["deal", "by"]
    show_full_result_count = False


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnly, TypedModelAdmin[FieldChange]):
    list_display = ["at", "deal", "field", "old_value", "new_value", "by"]
    list_filter = ["field"]
    search_fields = ["deal__title"]
    raw_id_fields = ["deal"]
    list_select_related = ["deal", "by"]
    show_full_result_count = False
