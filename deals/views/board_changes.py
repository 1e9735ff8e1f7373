"""Changes made on the board (SPEC §5): drops and "Move to…" (reorder or move), won, lost and
quick add. The deal page calls the same endpoints with `from=page`.

Every change goes through `deals.services` with the version the board showed. The answer holds
the card (out of band) and both column headers; a refusal keeps its status (400/403/404/409/
422) and carries its message as a toast; board.js puts a refused card back where it came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST

from accounts.visibility import is_admin
from accounts.web import AuthedRequest
from deals import services
from deals.forms import DealFieldsForm, LostForm, MoveForm, QuickAddForm, VersionForm
from deals.models import Deal, Pipeline, Stage
from deals.views.board import (
    BOARD,
    BoardScope,
    board_scope,
    card_for,
    headers_for,
    shows_on_board,
    visible_deal,
    writable_ids,
)
from pipeline_crm.errors import DomainError, MissingRequiredFields, StaleVersion
from pipeline_crm.htmx import (
    add_trigger,
    error_response,
    form_error_message,
    message_response,
    open_dialog,
    retarget,
    toast,
)

# --- moves and won -------------------------------------------------------------------------


def _required_values(
    request: AuthedRequest, deal: Deal
) -> tuple[dict[str, Any] | None, DealFieldsForm | None]:
    """Values posted by the "this stage needs…" form: (values, None) or (None, invalid form)."""
    names = [n for n in request.POST.getlist("required") if n in Stage.REQUIRABLE_FIELDS]
    if not names:
        return {}, None
    form = DealFieldsForm(request.POST, deal=deal, user=request.user, names=names, auto_id="req-%s")
    form.required_for_stage()
    if not form.is_valid():
        return None, form
    return dict(form.cleaned_data), None


def _required_form_response(
    request: AuthedRequest,
    scope: BoardScope,
    deal: Deal,
    *,
    action: str,
    message: str,
    form: DealFieldsForm,
    stage: Stage | None,
) -> HttpResponse:
    """422 with a small form for exactly the missing fields, shown in the board's dialog."""
    context = scope.context(
        deal=deal,
        form=form,
        action=action,
        target_stage=stage,
        message=message,
        version=request.POST.get("version", deal.version),
        after=request.POST.get("after"),
        has_after="after" in request.POST,
        from_page=request.POST.get("from") == "page",
    )
    response = render(request, f"{BOARD}#required-form", context, status=422)
    retarget(response, "#dialog-body", "innerHTML")
    return open_dialog(response)


def _missing_fields_response(
    request: AuthedRequest,
    scope: BoardScope,
    deal: Deal,
    exc: MissingRequiredFields,
    *,
    action: str,
    stage: Stage | None,
) -> HttpResponse:
    form = DealFieldsForm(
        deal=deal, user=request.user, names=exc.fields, auto_id="req-%s"
    ).required_for_stage()
    return _required_form_response(
        request, scope, deal, action=action, message=exc.message, form=form, stage=stage
    )


def _stale_response(
    request: AuthedRequest, scope: BoardScope, exc: StaleVersion, *stage_ids: int
) -> HttpResponse:
    """409: the card as it is now (board.js puts it where it belongs) and fresh headers."""
    current = exc.current
    context = scope.context(
        card=card_for(current.pk, viewer=request.user, writable=writable_ids(request.user)),
        remove=not shows_on_board(current, scope.filters)
        or current.pipeline_id != scope.pipeline.pk,
        **headers_for(request, scope, [current.stage_id, *stage_ids]),
    )
    response = render(request, f"{BOARD}#change-result", context, status=409)
    return toast(response, exc.message, "error")


def _changed_response(
    request: AuthedRequest,
    scope: BoardScope,
    deal: Deal,
    stage_ids: Iterable[int | None],
    *,
    message: str = "",
) -> HttpResponse:
    """After a change: the card (out of band, replacing the old one) and both column headers."""
    if request.POST.get("from") == "page":
        # On the deal page every section depends on the stage: reload it whole.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    card = card_for(
        deal.pk,
        viewer=request.user,
        writable=None if is_admin(request.user) else {deal.owner_id},
    )
    context = scope.context(
        card=card,
        remove=not shows_on_board(deal, scope.filters),
        **headers_for(request, scope, [deal.stage_id, *stage_ids]),
    )
    # No request: the answer needs no user, CSRF or top-bar values (saves their queries).
    response = HttpResponse(render_to_string(f"{BOARD}#change-result", context))
    add_trigger(response, "dialog:close")
    add_trigger(
        response,
        "deal:changed",
        {"id": deal.pk, "stage": deal.stage_id, "status": deal.status, "message": message},
    )
    return response


def _scope_for_deal(request: AuthedRequest, deal: Deal) -> BoardScope:
    scope = board_scope(request, deal.pipeline)
    stage = scope.stage(deal.stage_id)
    if stage is not None:  # the stage a move leaves: loaded with the others, not read again
        deal.stage = stage
    return scope


class DropForm(MoveForm):
    """A drop names its neighbours on the board: the card above it (`after`, empty at the top)
    and, at the top, the card below it (`before`)."""

    before = forms.IntegerField(min_value=1, required=False)


def _drop_anchor(form: DropForm) -> tuple[int | None, int | None]:
    """(after_id, before_id) for `move_deal`: the card above the drop, else (a drop at the top)
    the card below it. Neither for a "Move to…" choice or a drop on an empty column: the deal
    goes on top of the column it enters."""
    after = form.cleaned_data.get("after")
    return (after, None) if after is not None else (None, form.cleaned_data.get("before"))


@login_required
@require_POST
def move(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """A drop on a column (or a "Move to…" choice): reorder within it or move into it."""
    deal = visible_deal(request, deal_id)
    scope = _scope_for_deal(request, deal)
    form = DropForm(request.POST)
    if not form.is_valid():
        return message_response(form_error_message(form), 400)
    stage = scope.stage(form.cleaned_data["stage"])
    if stage is None:
        return message_response("That stage is not on this deal's board.", 400)
    values, invalid = _required_values(request, deal)
    if invalid is not None:
        return _required_form_response(
            request,
            scope,
            deal,
            action="move",
            message="Fill in these fields.",
            form=invalid,
            stage=stage,
        )
    from_stage_id = deal.stage_id
    after_id, before_id = _drop_anchor(form)
    try:
        moved = services.move_deal(
            deal=deal,
            by=request.user,
            stage=stage,
            version=form.cleaned_data["version"],
            after_id=after_id,
            before_id=before_id,
            values=values,
        )
    except StaleVersion as exc:
        return _stale_response(request, scope, exc, stage.pk, from_stage_id)
    except MissingRequiredFields as exc:
        return _missing_fields_response(request, scope, deal, exc, action="move", stage=stage)
    except DomainError as exc:
        return error_response(exc)
    message = "" if stage.pk == from_stage_id else f"“{moved.title}” moved to {stage.name}."
    return _changed_response(request, scope, moved, [from_stage_id], message=message)


@login_required
@require_POST
def won(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """The Won drop zone / "Mark won": into the won stage; asks for the amount when missing."""
    deal = visible_deal(request, deal_id)
    scope = _scope_for_deal(request, deal)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return message_response(form_error_message(form), 400)
    values, invalid = _required_values(request, deal)
    if invalid is not None:
        return _required_form_response(
            request,
            scope,
            deal,
            action="won",
            message="Fill in these fields.",
            form=invalid,
            stage=scope.won_stage,
        )
    values = dict(values or {})
    amount = values.pop("amount", None)
    from_stage_id = deal.stage_id
    try:
        done = services.mark_won(
            deal=deal,
            by=request.user,
            version=form.cleaned_data.get("version"),
            amount=amount,
            values=values,
        )
    except StaleVersion as exc:
        return _stale_response(request, scope, exc, from_stage_id)
    except MissingRequiredFields as exc:
        return _missing_fields_response(
            request, scope, deal, exc, action="won", stage=scope.won_stage
        )
    except DomainError as exc:
        return error_response(exc)
    return _changed_response(
        request, scope, done, [from_stage_id], message=f"“{done.title}” is won. 🎉"
    )


@login_required
@require_http_methods(["GET", "POST"])
def lost(request: AuthedRequest, deal_id: int) -> HttpResponse:
    """GET: the "why was it lost?" form for the dialog. POST: mark the deal lost."""
    deal = visible_deal(request, deal_id)
    scope = _scope_for_deal(request, deal)
    if request.method == "GET":
        form = LostForm(initial={"version": request.GET.get("version") or deal.version})
        context = scope.context(deal=deal, form=form, from_page=request.GET.get("from") == "page")
        return open_dialog(render(request, f"{BOARD}#lost-form", context))
    form = LostForm(request.POST)
    if not form.is_valid():
        return _lost_form_again(request, scope, deal, form)
    try:
        done = services.mark_lost(
            deal=deal,
            by=request.user,
            reason=form.cleaned_data["lost_reason"],
            detail=form.cleaned_data["lost_reason_detail"],
            version=form.cleaned_data.get("version"),
        )
    except StaleVersion as exc:
        return _stale_response(request, scope, exc)
    except DomainError as exc:
        if exc.field in form.fields:  # e.g. "Other" without its text: say so in the dialog
            form.add_error(exc.field, str(exc))
            return _lost_form_again(request, scope, deal, form)
        return error_response(exc)
    return _changed_response(request, scope, done, [], message=f"“{done.title}” marked lost.")


def _lost_form_again(
    request: AuthedRequest, scope: BoardScope, deal: Deal, form: LostForm
) -> HttpResponse:
    """The lost dialog again, with what was wrong under its fields."""
    context = scope.context(deal=deal, form=form, from_page=request.POST.get("from") == "page")
    response = render(request, f"{BOARD}#lost-form", context, status=422)
    retarget(response, "#dialog-body", "innerHTML")
    return response


# --- quick add and company suggestions ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def quick_add(request: AuthedRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    """A new deal at the top of a column: title, amount, company by name (created if new).
    GET: the column's form, as opening it on the board fetches it."""
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    scope = board_scope(request, pipeline)
    stage = scope.stage(stage_id)
    if stage is None:
        raise Http404("No such stage on this board.")
    if request.method == "GET":
        return _quick_add_form_response(request, scope, stage, None)
    form = QuickAddForm(request.POST, stage=stage, user=request.user)
    if not form.is_valid():
        return _quick_add_form_response(request, scope, stage, form)
    data = dict(form.cleaned_data)
    try:
        deal = services.create_deal(by=request.user, pipeline=pipeline, stage=stage, **data)
    except DomainError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
            return _quick_add_form_response(request, scope, stage, form)
        return error_response(exc)
    context = scope.context(
        card=card_for(
            deal.pk,
            viewer=request.user,
            writable=None if is_admin(request.user) else {deal.owner_id},
        ),
        **headers_for(request, scope, [stage.pk]),
    )
    response = render(request, f"{BOARD}#quick-added", context, status=201)
    return toast(response, f"“{deal.title}” added to {stage.name}.", "success")


def _quick_add_form_response(
    request: AuthedRequest, scope: BoardScope, stage: Stage, form: QuickAddForm | None
) -> HttpResponse:
    """The column's quick-add form, open: blank (`form` None) when fetched, else refused with
    what was wrong under its fields."""
    blank = form is None
    response = render(
        request,
        f"{BOARD}#quick-add",
        scope.context(
            stage=stage,
            quick_form=QuickAddForm(stage=stage, user=request.user) if blank else form,
            open=True,
        ),
        status=200 if blank else 422,
    )
    retarget(response, f"#quick-add-{stage.pk}", "outerHTML")
    return response
