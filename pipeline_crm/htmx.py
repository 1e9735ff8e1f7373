"""One way for every page to answer htmx: which fragment to send, how to refuse, how to talk to
the page's scripts.

- `wants_fragment(request)`: an htmx swap wants a template partial; a plain request or an htmx
  history restore (a cache miss) wants the whole page.
- `refusal(request, message, status)`: a refused change. htmx gets the message as plain text with
  its status (htmx swaps nothing) and a toast; a plain request gets the refusal page.
- `toast`, `add_trigger`, `open_dialog`, `retarget`: events and swap instructions in headers
  (static/js/app.js shows toasts and opens the dialog).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pipeline_crm.errors import DomainError

REFUSAL_PAGE = "refused.html"


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap wants a fragment; a history restore (cache miss) wants the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def swap_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx swap targets, or None for a whole page."""
    return request.htmx.target if wants_fragment(request) else None  # type: ignore[attr-defined]


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


def open_dialog(response: HttpResponse) -> HttpResponse:
    """Open the dialog on the form this response puts in it, once htmx has settled the swap:
    htmx binds the form's hx-post only then, and an Enter pressed in a field focused before it
    would submit the form as a plain page load (a race the browser tests caught)."""
    return add_trigger(response, "dialog:open", {}, header="HX-Trigger-After-Settle")


def retarget(response: HttpResponse, selector: str, swap: str = "outerHTML") -> HttpResponse:
    """Swap this answer into `selector` instead of the requesting element's target (htmx
    swaps a 4xx answer only where told: static/js/app.js lets 422 through)."""
    response["HX-Retarget"] = selector
    response["HX-Reswap"] = swap
    return response


def panel_response(
    request: HttpRequest,
    partial: str,
    context: dict[str, Any],
    *,
    target: str,
    status: int = 200,
    message: str = "",
) -> HttpResponse:
    """A settings list's panel re-rendered after a change: swapped into `target` even when
    refused (4xx, with its form's errors), with `message` as a toast."""
    response = render(request, partial, context, status=status)
    if status >= 400:
        retarget(response, target, "outerHTML")
    if message:
        toast(response, message, "error" if status >= 400 else "success")
    return response


def message_response(message: str, status: int, level: str = "error") -> HttpResponse:
    """A refusal for any client: the plain-text message in the body, and a toast for htmx."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return toast(response, message, level)


def error_response(exc: DomainError) -> HttpResponse:
    return message_response(exc.message, exc.http_status)


def refusal(request: HttpRequest, error: DomainError | str, status: int = 403) -> HttpResponse:
    """A refused change: the plain message for htmx (shown as a toast), the refusal page for a
    plain form post."""
    message = error.message if isinstance(error, DomainError) else error
    if isinstance(error, DomainError):
        status = error.http_status
    if wants_fragment(request):
        return message_response(message, status)
    return render(request, REFUSAL_PAGE, {"message": message}, status=status)


def form_error_message(form: Any) -> str:
    """The first error of a form, as one sentence for a toast."""
    for name, errors in form.errors.items():
        label = "" if name == "__all__" else f"{name.replace('_', ' ').capitalize()}: "
        return f"{label}{errors[0]}"
    return "Check the form."
