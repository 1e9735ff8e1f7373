"""The lost-reason list `/settings/lost-reasons/` (admins only; everyone else gets 404).

Add, rename, deactivate and reorder entries; every change goes through the lost-reason services
and answers with the re-rendered list (`deals/lost_reasons.html#reason-panel`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from accounts.web import AuthedRequest, admin_required
from deals import services
from deals.forms import LostReasonForm
from deals.models import LostReason
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import add_trigger, error_response, panel_response

PAGE = "deals/lost_reasons.html"


def _context(bound: dict[int, LostReasonForm] | None = None, **extra: Any) -> dict[str, Any]:
    """Each entry with its deal count and edit form (a bound one shows its errors)."""
    bound = bound or {}
    entries = LostReason.objects.annotate(n_deals=Count("deals")).order_by("order", "id")
    rows = [
        {
            "reason": entry,
            "form": bound.get(entry.pk) or LostReasonForm.for_reason(entry),
            "open": entry.pk in bound,
        }
        for entry in entries
    ]
    context: dict[str, Any] = {"rows": rows, "new_form": LostReasonForm(prefix="new")}
    context.update(extra)
    return context


def _panel(
    request: AuthedRequest, *, status: int = 200, message: str = "", **extra: Any
) -> HttpResponse:
    return panel_response(
        request,
        f"{PAGE}#reason-panel",
        _context(**extra),
        target="#reason-panel",
        status=status,
        message=message,
    )


@admin_required
@require_GET
def lost_reasons(request: AuthedRequest) -> HttpResponse:
    return render(request, PAGE, {"nav": "settings", **_context()})


@admin_required
@require_POST
def create_lost_reason(request: AuthedRequest) -> HttpResponse:
    form = LostReasonForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            entry = services.create_lost_reason(by=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _panel(request, message=f"“{entry.name}” added.")
    return _panel(request, status=422, new_form=form, open_new=True)


@admin_required
@require_POST
def update_lost_reason(request: AuthedRequest, reason_id: int) -> HttpResponse:
    entry = get_object_or_404(LostReason, pk=reason_id)
    form = LostReasonForm(request.POST, prefix=f"r-{entry.pk}")
    if form.is_valid():
        try:
            entry = services.update_lost_reason(
                reason=entry, by=request.user, changes=form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _panel(request, message=f"“{entry.name}” saved.")
    return _panel(request, status=422, bound={entry.pk: form})


@admin_required
@require_POST
def shift_lost_reason(request: AuthedRequest, reason_id: int) -> HttpResponse:
    """Reorder: one place up or down (buttons, so it works from the keyboard)."""
    entry = get_object_or_404(LostReason, pk=reason_id)
    up = request.POST.get("direction") == "up"
    try:
        shifted = services.shift_lost_reason(reason=entry, by=request.user, up=up)
    except DomainError as exc:
        return error_response(exc)
    if not shifted:
        return _panel(request)
    direction = "up" if up else "down"
    response = _panel(request, message=f"“{entry.name}” moved {direction}.")
    return add_trigger(
        response, "focus-element", f"#reason-{direction}-{entry.pk}", "HX-Trigger-After-Settle"
    )
