"""The deal page `/deals/<id>/`: inline edits, stage path, timeline, activities, won/lost/reopen.

Moves, won and lost are the board's endpoints (`deals.views.board`) called with `from=page`;
they answer with `HX-Refresh` here, since the whole page depends on the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.avatars import Avatar
from accounts.visibility import can_write_owned_by
from accounts.web import AuthedRequest
from deals import services
from deals.forms import INLINE_EDITABLE, DealFieldsForm, VersionForm
from deals.models import Deal, StageChange
from deals.selectors import planned_activities, stage_path, timeline
from deals.views.deal_list import remember_undo
from followups import services as followups
from followups.forms import LogActivityForm, PlanActivityForm
from followups.models import Activity
from followups.notifications import BELL_EVENT
from pipeline_crm.errors import DomainError, StaleVersion
from pipeline_crm.htmx import (
    add_trigger,
    error_response,
    form_error_message,
    message_response,
    refusal,
    retarget,
    toast,
    wants_fragment,
)
from pipeline_crm.templatetags.figures import money

PAGE = "deals/deal_detail.html"

LABELS = {
    "title": "Title",
    "amount": "Amount",
    "currency": "Currency",
    "expected_close_date": "Expected close",
    "probability_override": "Probability",
    "owner": "Owner",
    "company": "Company",
    "contact": "Contact",
    "next_step": "Next step",
}


@dataclass
class FieldView:
    name: str
    label: str
    display: str
    empty: bool


def _display(deal: Deal, name: str) -> str:
    value = getattr(deal, name)
    if name == "amount":
        return money(value, deal.currency) if value is not None else ""
    if name == "expected_close_date":
        return date_filter(value, "M j, Y") if value else ""
    if name == "probability_override":
        if value is None:
            return f"{deal.stage.probability} % (the stage's)"
        return f"{value} % (set for this deal)"
    return "" if value is None else str(value)


def field_view(deal: Deal, name: str) -> FieldView:
    display = _display(deal, name)
    return FieldView(name=name, label=LABELS[name], display=display or "—", empty=not display)


def _deal_for(request: AuthedRequest, deal_id: int) -> Deal:
    deals = (
        Deal.objects.with_effective_probability()
        .visible_to(request.user)
        .select_related("stage", "pipeline", "owner", "company", "contact", "lead")
    )
    deal: Deal = get_object_or_404(deals, pk=deal_id)
    return deal


def _page_context(request: AuthedRequest, deal: Deal, **extra: Any) -> dict[str, Any]:
    can_write = can_write_owned_by(request.user, deal.owner_id)
    return {
        "nav": "board",
        "deal": deal,
        "can_write": can_write,
        # Said at the top of a page the user may only view.
        "owner": None if can_write else Avatar.of(deal.owner),
        **extra,
    }


@login_required
@require_GET
def deal_detail(request: AuthedRequest, deal_id: int) -> HttpResponse:
    deal = _deal_for(request, deal_id)
    stages = list(deal.pipeline.stages.order_by("order"))
    changes = list(StageChange.objects.filter(deal=deal).select_related("by").order_by("at", "id"))
    context = _page_context(
        request,
        deal,
        stages=stages,
        path=stage_path(deal, stages, changes),
        entries=timeline(deal, changes, viewer=request.user),
        planned=planned_activities(deal, viewer=request.user),
        fields=[field_view(deal, name) for name in INLINE_EDITABLE],
        plan_form=PlanActivityForm(),
        log_form=LogActivityForm(),
        now=timezone.now(),
    )
    return render(request, PAGE, context)


# --- inline edit -------------------------------------------------------------------------------


def _editable_name(name: str) -> str:
    if name not in INLINE_EDITABLE:
        raise Http404("No such field.")
    return name


def _edit_form_response(
    request: AuthedRequest,
    deal: Deal,
    name: str,
    form: DealFieldsForm,
    *,
    status: int = 200,
    message: str = "",
) -> HttpResponse:
    context = _page_context(
        request, deal, name=name, label=LABELS[name], form=form, message=message
    )
    response = render(request, f"{PAGE}#field-edit", context, status=status)
    if status >= 400:
        retarget(response, f"#field-{name}", "outerHTML")
    return response


@login_required
@require_GET
def deal_field_edit(request: AuthedRequest, deal_id: int, name: str) -> HttpResponse:
    """The inline form for one field, filled with its current value."""
    deal = _deal_for(request, deal_id)
    name = _editable_name(name)
    form = DealFieldsForm(deal=deal, user=request.user, names=[name])
    return _edit_form_response(request, deal, name, form)


@login_required
@require_http_methods(["GET", "POST"])
def deal_field(request: AuthedRequest, deal_id: int, name: str) -> HttpResponse:
    """GET: the field as shown (cancel). POST: save it through `update_deal`."""
    deal = _deal_for(request, deal_id)
    name = _editable_name(name)
    if request.method == "GET":
        context = _page_context(request, deal, field=field_view(deal, name))
        return render(request, f"{PAGE}#field-row", context)
    form = DealFieldsForm(request.POST, deal=deal, user=request.user, names=[name])
    version = VersionForm(request.POST)
    if not (form.is_valid() and version.is_valid()):
        return _edit_form_response(request, deal, name, form, status=422)
    value = form.cleaned_data[name]
    if name == "currency":
        value = value.upper()
    try:
        # A company comes as the name typed: the service finds or creates it.
        updated = services.update_deal(
            deal=deal,
            by=request.user,
            changes={name: value},
            version=version.cleaned_data.get("version"),
        )
    except StaleVersion as exc:
        current = _deal_for(request, exc.current.pk)
        fresh = DealFieldsForm(deal=current, user=request.user, names=[name])
        response = _edit_form_response(
            request,
            current,
            name,
            fresh,
            status=409,
            message="Someone else changed this deal meanwhile. This is its current value.",
        )
        return toast(response, exc.message, "error")
    except DomainError as exc:
        if exc.field == name:
            form.add_error(name, exc.message)
            return _edit_form_response(request, deal, name, form, status=422)
        return error_response(exc)
    updated = _deal_for(request, updated.pk)
    context = _page_context(request, updated, field=field_view(updated, name))
    response = render(request, f"{PAGE}#field-saved", context)
    return add_trigger(response, "deal:changed", {"id": updated.pk, "version": updated.version})


# --- reopen ------------------------------------------------------------------------------------


@login_required
@require_POST
def reopen(request: AuthedRequest, deal_id: int) -> HttpResponse:
    deal = _deal_for(request, deal_id)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return message_response(form_error_message(form), 400)
    try:
        services.reopen_deal(deal=deal, by=request.user, version=form.cleaned_data.get("version"))
    except DomainError as exc:
        return error_response(exc)
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response


# --- delete ------------------------------------------------------------------------------------


@login_required
@require_POST
def delete(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """Delete the deal (to the trash) and land on the deals list, which offers Undo."""
    deal = _deal_for(request, deal_id)
    try:
        entry = services.delete_deal(deal=deal, by=request.user)
    except DomainError as exc:
        return refusal(request, exc)
    remember_undo(request, [entry])  # the list shows "moved to the trash" with Undo
    url = reverse("deal-list")
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


# --- activities --------------------------------------------------------------------------------


def _activities_response(
    request: AuthedRequest, deal: Deal, *, message: str = "", fresh_form: str = ""
) -> HttpResponse:
    """The deal's planned list and timeline, swapped out of band; with `fresh_form` (the
    partial of the form just accepted) an empty form too, so no earlier error stays on screen."""
    changes = list(StageChange.objects.filter(deal=deal).select_related("by").order_by("at", "id"))
    context = _page_context(
        request,
        deal,
        planned=planned_activities(deal, viewer=request.user),
        entries=timeline(deal, changes, viewer=request.user),
        now=timezone.now(),
        fresh_form=fresh_form,
        plan_form=PlanActivityForm(),
        log_form=LogActivityForm(),
    )
    response = render(request, f"{PAGE}#activities-changed", context)
    return toast(response, message, "success") if message else response


def _activity_form_response(
    request: AuthedRequest, deal: Deal, partial: str, form: Any
) -> HttpResponse:
    key = "plan_form" if partial == "plan-form" else "log_form"
    response = render(
        request, f"{PAGE}#{partial}", _page_context(request, deal, **{key: form}), status=422
    )
    retarget(response, f"#{partial}", "outerHTML")
    return response


def _activity_posted(
    request: AuthedRequest,
    deal_id: int,
    form_class: type[PlanActivityForm] | type[LogActivityForm],
    *,
    partial: str,
    done: bool,
    message: str,
) -> HttpResponse:
    """Plan or log an activity from its form: errors stay in the form (`partial`), an accepted
    one refreshes the deal's activities."""
    deal = _deal_for(request, deal_id)
    form = form_class(request.POST)
    if not form.is_valid():
        return _activity_form_response(request, deal, partial, form)
    try:
        followups.log_activity(by=request.user, deal=deal, done=done, **form.cleaned_data)
    except DomainError as exc:
        if exc.field in form.fields:
            form.add_error(exc.field, exc.message)
            return _activity_form_response(request, deal, partial, form)
        return error_response(exc)
    return _activities_response(request, deal, message=message, fresh_form=partial)


@login_required
@require_POST
def plan_activity(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """Plan the next step: a call, e-mail, meeting or task with a due and a reminder time."""
    return _activity_posted(
        request,
        deal_id,
        PlanActivityForm,
        partial="plan-form",
        done=False,
        message="Next step planned.",
    )


@login_required
@require_POST
def log_activity(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """Log what happened: a call, e-mail, meeting or note (done now, or when it was done)."""
    return _activity_posted(
        request, deal_id, LogActivityForm, partial="log-form", done=True, message="Logged."
    )


@login_required
@require_POST
def complete_activity(request: AuthedRequest, activity_id: int) -> HttpResponse:
    activity = get_object_or_404(
        Activity.objects.visible_to(request.user).filter(deal__isnull=False), pk=activity_id
    )
    deal = _deal_for(request, activity.deal_id)  # type: ignore[arg-type]
    try:
        followups.complete_activity(activity=activity, by=request.user)
    except DomainError as exc:
        return error_response(exc)
    # Its reminder, if one was waiting unread, is read now: the bell refreshes itself.
    return add_trigger(_activities_response(request, deal, message="Done."), BELL_EVENT)
