"""Helpers shared by the board, deal page and stage settings views.

The pages themselves live in `board_views`, `deal_views` and `settings_views`. Every view is a
thin caller: it parses input with a form, calls a service and turns the service's typed errors
(`deals.errors`) into messages the user sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from accounts.models import User
from accounts.visibility import is_admin
from contacts import services as contact_services
from contacts.models import Company
from deals.errors import DomainError


class AuthedRequest(HttpRequest):
    """A request behind `login_required`, as the views see it (for type checking)."""

    user: User
    htmx: HtmxDetails


def add_trigger(
    response: HttpResponse, name: str, detail: Any = None, header: str = "HX-Trigger"
) -> HttpResponse:
    """Add an htmx client event to the response (merging with the ones already there)."""
    events: dict[str, Any] = {}
    if response.get(header):
        events = json.loads(response[header])
    events[name] = detail if detail is not None else {}
    response[header] = json.dumps(events)
    return response


def toast(response: HttpResponse, message: str, level: str = "info") -> HttpResponse:
    """Show `message` as a toast (static/js/app.js listens for the `toast` event)."""
    return add_trigger(response, "toast", {"message": message, "level": level})


def message_response(message: str, status: int, level: str = "error") -> HttpResponse:
    """A refusal: the plain-text message in the body (for any client) and a toast for htmx."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return toast(response, message, level)


def error_response(exc: DomainError) -> HttpResponse:
    return message_response(exc.message, exc.http_status)


def form_error_message(form: Any) -> str:
    """The first error of a form, as one sentence for a toast."""
    for name, errors in form.errors.items():
        label = "" if name == "__all__" else f"{name.replace('_', ' ').capitalize()}: "
        return f"{label}{errors[0]}"
    return "Check the form."


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admins only; everyone else gets 404, as if the page did not exist (SPEC §4)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped


def company_named(name: str, *, by: User) -> Company | None:
    """The company called `name` (ignoring case), created for `by` when there is none yet.

    Callers run it inside their own transaction together with the change that uses it.
    """
    name = (name or "").strip()
    if not name:
        return None
    existing = Company.objects.visible_to(by).filter(name__iexact=name).order_by("id").first()
    if existing is not None:
        return existing
    return contact_services.create_record(Company, by=by, fields={"name": name})
