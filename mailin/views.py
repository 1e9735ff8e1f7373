"""The user's BCC address (shown in My settings) and their "Unmatched e-mail" list.

Thin views: reads through `visible_to`, changes through the services.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from mailin.forms import AttachForm
from mailin.models import InboundMessage
from mailin.services import attach_unmatched, new_bcc_address, revoke_bcc_address
from pipeline_crm.errors import DomainError

PAGE_SIZE = 25


def _me(request: HttpRequest) -> User:
    return cast(User, request.user)


def _unmatched_page(
    request: HttpRequest, *, form: AttachForm | None = None, status: int = 200
) -> HttpResponse:
    user = _me(request)
    unmatched = InboundMessage.objects.visible_to(user).unmatched()
    page = Paginator(unmatched, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "nav": "my-settings"}
    return render(request, "mailin/unmatched.html", context, status=status)


@login_required
@require_GET
def unmatched_list(request: HttpRequest) -> HttpResponse:
    return _unmatched_page(request)


@login_required
@require_POST
def unmatched_attach(request: HttpRequest) -> HttpResponse:
    form = AttachForm(request.POST, user=_me(request))
    if form.is_valid():
        contact = form.cleaned_data["contact_email"]
        try:
            message = attach_unmatched(
                message=form.cleaned_data["message"], contact=contact, by=_me(request)
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            logged = message.activities_logged
            messages.success(request, f"Logged on {contact} ({logged} activities).")
            return redirect("mail-unmatched")
    return _unmatched_page(request, form=form, status=400)


@login_required
@require_POST
def bcc_address_new(request: HttpRequest) -> HttpResponse:
    address = new_bcc_address(by=_me(request))
    messages.success(
        request, f"Your BCC address is now {address.address}; the old one no longer works."
    )
    return redirect("my-settings")


@login_required
@require_POST
def bcc_address_revoke(request: HttpRequest) -> HttpResponse:
    revoke_bcc_address(by=_me(request))
    messages.success(request, "Your BCC address is revoked: mail to it is no longer logged.")
    return redirect("my-settings")
