"""The request being served, for the audit trail's "who and from where" (`audit.listeners`).

`RequestContextMiddleware` holds the current request in a context variable while the view
runs, so a record of what happened (an audit entry written by a listener, a CSV download
announced by `pipeline_crm.csv_files`) can note the client's address without every service
taking a request. Outside a request (Celery tasks, management commands) there is none.

Only for recording who did what: no rule may depend on it (services take `by=` explicitly).

It also keeps what a request reads several times and must see the same each time
(`kept_for_request`: today's exchange rates, read by every total of a page), so the request
reads it once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from pipeline_crm.client_ip import client_ip

_current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)
_kept: ContextVar[dict[str, Any] | None] = ContextVar("kept_for_request", default=None)


def current_request() -> HttpRequest | None:
    """The request this code runs for, if any."""
    return _current_request.get()


def current_client_ip() -> str:
    """The client's address (`pipeline_crm.client_ip`) of the current request, else ""."""
    request = current_request()
    return client_ip(request) if request is not None else ""


def kept_for_request[T](key: str, read: Callable[[], T]) -> T:
    """`read()`'s answer, read once per request under `key`; outside a request, read anew
    each time."""
    kept = _kept.get()
    if kept is None:
        return read()
    if key not in kept:
        kept[key] = read()
    return cast(T, kept[key])


def forget_for_request(key: str) -> None:
    """The current request reads `key` anew next time (it has just changed what it reads)."""
    kept = _kept.get()
    if kept is not None:
        kept.pop(key, None)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token, kept_token = _current_request.set(request), _kept.set({})
        try:
            return self.get_response(request)
        finally:
            _kept.reset(kept_token)
            _current_request.reset(token)
