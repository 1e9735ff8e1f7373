"""What pages need to know about the signed-in user: the request type views see, and the
admins-only decorator (everyone else gets 404, as if the page did not exist: SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django_htmx.middleware import HtmxDetails

from accounts.models import User
from accounts.visibility import is_admin


class AuthedRequest(HttpRequest):
    """A request behind `login_required`, as the views see it (for type checking)."""

    user: User
    htmx: HtmxDetails


def admin_required[R: HttpResponseBase](view: Callable[..., R]) -> Callable[..., R]:
    """Admins only; everyone else gets 404, as if the page did not exist (SPEC §4)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> R:
        if not is_admin(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped
