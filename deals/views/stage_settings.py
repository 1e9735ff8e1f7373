"""Stage settings `/settings/pipelines/` (admins only; everyone else gets 404).

Every change goes through the pipeline/stage services and answers with the re-rendered stage
panel (`deals/settings.html#stage-panel`), so the list, the forms and their errors stay in step.
Open boards of the pipeline reload their columns: the services announce every change.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.web import AuthedRequest, admin_required
from deals import services
from deals.forms import PipelineForm, StageDeleteForm, StageForm, StageOrderForm
from deals.models import Pipeline, Stage
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import (
    add_trigger,
    error_response,
    form_error_message,
    message_response,
    retarget,
    toast,
)

PAGE = "deals/settings.html"


def _stage_rows(
    pipeline: Pipeline, *, bound: dict[int, Any] | None = None, open_id: int | None = None
) -> list[dict[str, Any]]:
    """Each stage with its deal count, edit form and delete form (bound ones show errors)."""
    bound = bound or {}
    stages = pipeline.stages.annotate(n_deals=Count("deals")).order_by("order")
    rows = []
    for stage in stages:
        rows.append(
            {
                "stage": stage,
                "form": bound.get(stage.pk) or StageForm.for_stage(stage),
                "delete_form": bound.get(-stage.pk)
                or StageDeleteForm(stage=stage, prefix=f"del-{stage.pk}"),
                "open": stage.pk == open_id,
                "open_delete": -stage.pk in bound,
            }
        )
    return rows


def _panel_context(pipeline: Pipeline, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "pipeline": pipeline,
        "rows": _stage_rows(
            pipeline, bound=extra.pop("bound", None), open_id=extra.pop("open_id", None)
        ),
        "new_stage_form": extra.pop("new_stage_form", None) or StageForm(prefix="new"),
    }
    context.update(extra)
    return context


def _panel(
    request: AuthedRequest,
    pipeline: Pipeline,
    *,
    status: int = 200,
    message: str = "",
    **extra: Any,
) -> HttpResponse:
    response = render(
        request, f"{PAGE}#stage-panel", _panel_context(pipeline, **extra), status=status
    )
    if status >= 400:
        retarget(response, "#stage-panel", "outerHTML")
    if message:
        toast(response, message, "error" if status >= 400 else "success")
    return response


def _changed(request: AuthedRequest, pipeline: Pipeline, message: str) -> HttpResponse:
    return _panel(request, pipeline, message=message)


@admin_required
@require_GET
def pipelines(request: AuthedRequest, pipeline_id: int | None = None) -> HttpResponse:
    all_pipelines = list(
        Pipeline.objects.annotate(n_stages=Count("stages", distinct=True)).order_by(
            "-is_default", "name"
        )
    )
    if pipeline_id is None:
        pipeline = next(iter(all_pipelines), None)
    else:
        pipeline = next((p for p in all_pipelines if p.pk == pipeline_id), None)
        if pipeline is None:
            raise Http404("No such pipeline.")
    context: dict[str, Any] = {
        "nav": "settings",
        "pipelines": all_pipelines,
        "pipeline_form": PipelineForm(prefix="pipeline"),
    }
    if pipeline is not None:
        context.update(_panel_context(pipeline))
    return render(request, PAGE, context)


@admin_required
@require_POST
def create_pipeline(request: AuthedRequest) -> HttpResponse:
    form = PipelineForm(request.POST, prefix="pipeline")
    if not form.is_valid():
        return message_response(form_error_message(form), 400)
    data = form.cleaned_data
    try:
        pipeline = services.create_pipeline(
            by=request.user,
            name=data["name"],
            is_default=data["is_default"],
            copy_stages_from=Pipeline.default() if data["copy_stages"] else None,
        )
    except DomainError as exc:
        return error_response(exc)
    url = reverse("pipeline-settings-detail", args=[pipeline.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@admin_required
@require_POST
def create_stage(request: AuthedRequest, pipeline_id: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    form = StageForm(request.POST, prefix="new")
    if not form.is_valid():
        return _panel(request, pipeline, status=422, new_stage_form=form, open_new=True)
    try:
        stage = services.create_stage(by=request.user, pipeline=pipeline, **form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _panel(request, pipeline, status=422, new_stage_form=form, open_new=True)
    return _changed(request, pipeline, f"Stage “{stage.name}” added.")


@admin_required
@require_POST
def update_stage(request: AuthedRequest, stage_id: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_id)
    form = StageForm(request.POST, prefix=f"stage-{stage.pk}")
    if not form.is_valid():
        return _panel(request, stage.pipeline, status=422, bound={stage.pk: form}, open_id=stage.pk)
    try:
        stage = services.update_stage(stage=stage, by=request.user, changes=form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _panel(request, stage.pipeline, status=422, bound={stage.pk: form}, open_id=stage.pk)
    return _changed(request, stage.pipeline, f"Stage “{stage.name}” saved.")


@admin_required
@require_POST
def reorder_stages(request: AuthedRequest, pipeline_id: int) -> HttpResponse:
    """The drag-and-drop order: every stage id of the pipeline, top to bottom."""
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    form = StageOrderForm(request.POST)
    if not form.is_valid():
        return message_response(form_error_message(form), 400)
    try:
        services.reorder_stages(
            pipeline=pipeline, by=request.user, stage_ids=form.cleaned_data["stage_ids"]
        )
    except DomainError as exc:
        return _panel(request, pipeline, status=400, message=exc.message)
    return _changed(request, pipeline, "Stage order saved.")


@admin_required
@require_POST
def shift_stage(request: AuthedRequest, stage_id: int) -> HttpResponse:
    """The keyboard way to reorder: one place up or down."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_id)
    up = request.POST.get("direction") == "up"
    try:
        shifted = services.shift_stage(stage=stage, by=request.user, up=up)
    except DomainError as exc:
        return error_response(exc)
    if not shifted:
        return _panel(request, stage.pipeline)
    direction = "up" if up else "down"
    response = _changed(request, stage.pipeline, f"“{stage.name}” moved {direction}.")
    # Keep the keyboard user's place: focus the same button on the re-rendered row.
    return add_trigger(
        response, "focus-element", f"#shift-{direction}-{stage.pk}", "HX-Trigger-After-Settle"
    )


@admin_required
@require_POST
def delete_stage(request: AuthedRequest, stage_id: int) -> HttpResponse:
    """Delete a stage; its deals first move to the chosen destination (never orphaned)."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_id)
    pipeline = stage.pipeline
    form = StageDeleteForm(request.POST, stage=stage, prefix=f"del-{stage.pk}")
    if not form.is_valid():
        return _panel(request, pipeline, status=422, bound={-stage.pk: form})
    try:
        moved = services.delete_stage(
            stage=stage, by=request.user, destination=form.cleaned_data.get("destination")
        )
    except DomainError as exc:
        form.add_error("destination", exc.message)
        return _panel(request, pipeline, status=422, bound={-stage.pk: form})
    note = f" {moved} deal(s) moved." if moved else ""
    return _changed(request, pipeline, f"Stage “{stage.name}” deleted.{note}")
