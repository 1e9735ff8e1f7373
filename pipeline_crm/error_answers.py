"""What errors answer: an unknown address (handler404: JSON under /api/), and an unexpected
error (handler500): never a traceback, a lost database connection as 503 "try again"
(README "Faults")."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

DATABASE_LOST = (
    "The database could not be reached, so nothing was saved. Please try again in a moment."
)
FAILED = "Something went wrong on our side. Please try again."


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: an address no URL matches. Under /api/ the JSON `{"detail"}` every other
    API error has (e.g. `/api/deals/1.5/`), elsewhere Django's page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500 (Django calls it while the exception is being handled).

    A lost database connection (a restart, a failover, a killed session) is 503 with
    Retry-After: the transaction was rolled back, so trying again is safe, and Django opens a
    new connection for the next request. The API answers JSON `{"detail": ...}`, htmx plain
    text (static/js/app.js shows it as a toast), a page a short HTML page drawn without the
    request's context (which would need the database).
    """
    lost = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    status, message = (503, DATABASE_LOST) if lost else (500, FAILED)
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=status)
    elif request.headers.get("HX-Request"):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    else:
        title = "Try again in a moment" if lost else "Something went wrong"
        page = render_to_string("error.html", {"title": title, "message": message})
        response = HttpResponse(page, status=status)
    if lost:
        response["Retry-After"] = "5"
    return response
