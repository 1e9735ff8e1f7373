"""Webhook settings `/settings/webhooks/` (admins only; everyone else gets 404).

One page: the webhooks on the left, the chosen one's form, test ping and delivery log on the
right. Every change goes through `integrations.services` and answers with the re-rendered page
body (`integrations/webhooks.html#webhooks-body`); resend and ping answer with the delivery log
(`#delivery-log`). A new webhook's secret is shown in the answer to its creation, and never
again.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.web import AuthedRequest, admin_required
from integrations import services
from integrations.forms import WebhookForm
from integrations.models import Delivery, Webhook
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import retarget, toast, wants_fragment

PAGE = "integrations/webhooks.html"
LOG_PAGE_SIZE = 25


def _log_context(request: AuthedRequest, webhook: Webhook) -> dict[str, Any]:
    deliveries = webhook.deliveries.order_by("-created_at", "id")
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    # While a shown delivery is still being tried, the log refreshes itself.
    waiting = any(d.state in ("pending", "retrying") for d in page.object_list)
    return {"webhook": webhook, "log_page": page, "log_waiting": waiting}


def _page_context(
    request: AuthedRequest,
    webhook: Webhook | None,
    *,
    new_form: WebhookForm | None = None,
    edit_form: WebhookForm | None = None,
    **extra: Any,
) -> dict[str, Any]:
    hooks = Webhook.objects.annotate(
        n_deliveries=Count("deliveries"), last_delivery_at=Max("deliveries__created_at")
    ).order_by("created_at", "id")
    context: dict[str, Any] = {
        "nav": "settings",
        "webhooks": hooks,
        "new_form": new_form or WebhookForm(prefix="new", initial={"active": True}),
        "selected": webhook,
        **extra,
    }
    if webhook is not None:
        context["edit_form"] = edit_form or WebhookForm.for_webhook(webhook, prefix="edit")
        context.update(_log_context(request, webhook))
    return context


def _answer(
    request: AuthedRequest,
    webhook: Webhook | None,
    *,
    status: int = 200,
    message: str = "",
    **extra: Any,
) -> HttpResponse:
    """The page (or, for htmx, its body), with a toast; a refusal re-renders in place."""
    template = f"{PAGE}#webhooks-body" if wants_fragment(request) else PAGE
    response = render(request, template, _page_context(request, webhook, **extra), status=status)
    if wants_fragment(request):
        if status >= 400:
            retarget(response, "#webhooks-body", "outerHTML")
        else:
            url = reverse("webhook-detail", args=[webhook.pk]) if webhook else None
            response["HX-Push-Url"] = url or reverse("webhook-settings")
    if message:
        toast(response, message, "error" if status >= 400 else "success")
    return response


def _form_refused(form: WebhookForm, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@admin_required
@require_GET
def webhooks(request: AuthedRequest, webhook_id: int | None = None) -> HttpResponse:
    webhook = get_object_or_404(Webhook, pk=webhook_id) if webhook_id is not None else None
    return render(request, PAGE, _page_context(request, webhook))


@admin_required
@require_POST
def create_webhook(request: AuthedRequest) -> HttpResponse:
    form = WebhookForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            webhook = services.create_webhook(by=request.user, **form.cleaned_data)
        except DomainError as exc:
            _form_refused(form, exc)
        else:
            # The one time the secret is shown (no redirect: a reload must not show it again).
            return _answer(request, webhook, message="Webhook added.", new_secret=webhook.secret)
    return _answer(request, None, status=422, new_form=form, open_new=True)


@admin_required
@require_POST
def update_webhook(request: AuthedRequest, webhook_id: int) -> HttpResponse:
    webhook = get_object_or_404(Webhook, pk=webhook_id)
    form = WebhookForm(request.POST, prefix="edit")
    if form.is_valid():
        try:
            webhook = services.update_webhook(
                webhook=webhook, by=request.user, changes=form.cleaned_data
            )
        except DomainError as exc:
            _form_refused(form, exc)
        else:
            return _answer(request, webhook, message="Webhook saved.")
    return _answer(request, webhook, status=422, edit_form=form)


@admin_required
@require_POST
def delete_webhook(request: AuthedRequest, webhook_id: int) -> HttpResponse:
    webhook = get_object_or_404(Webhook, pk=webhook_id)
    services.delete_webhook(webhook=webhook, by=request.user)
    return _answer(request, None, message=f"Webhook to {webhook.url} deleted.")


def _log(request: AuthedRequest, webhook: Webhook, message: str = "") -> HttpResponse:
    template = f"{PAGE}#delivery-log" if wants_fragment(request) else PAGE
    context = _page_context(request, webhook) if template == PAGE else {}
    context.update(_log_context(request, webhook))
    response = render(request, template, context)
    return toast(response, message, "success") if message else response


@admin_required
@require_GET
def delivery_log(request: AuthedRequest, webhook_id: int) -> HttpResponse:
    return _log(request, get_object_or_404(Webhook, pk=webhook_id))


@admin_required
@require_POST
def resend(request: AuthedRequest, webhook_id: int, delivery_id: uuid.UUID) -> HttpResponse:
    webhook = get_object_or_404(Webhook, pk=webhook_id)
    delivery = get_object_or_404(Delivery, webhook=webhook, pk=delivery_id)
    services.resend_delivery(delivery=delivery, by=request.user)
    return _log(request, webhook, f"{delivery.event} queued again as a new delivery.")


@admin_required
@require_POST
def ping(request: AuthedRequest, webhook_id: int) -> HttpResponse:
    webhook = get_object_or_404(Webhook, pk=webhook_id)
    services.send_ping(webhook=webhook, by=request.user)
    return _log(request, webhook, "Test ping queued.")
