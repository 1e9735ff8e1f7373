"""Project-level pages: the signed-in home, the health check and the error answer."""

import logging
import sys

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from pipeline_crm.tasks import BEAT_TICK_KEY

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("board")


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.warning("healthz: the database does not answer", exc_info=True)
        return "error"


def _broker_status() -> str:
    from pipeline_crm.celery import app

    try:
        # One quick retry, no back-off: a health check must answer fast even when Redis is gone.
        with app.connection_for_write(connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return "ok"
    except Exception:
        logger.warning("healthz: the Celery broker does not answer", exc_info=True)
        return "error"


def _beat_age_seconds() -> float | None:
    try:
        raw = cache.get(BEAT_TICK_KEY)
    except Exception:
        return None
    tick = parse_datetime(raw) if raw else None
    return round((timezone.now() - tick).total_seconds(), 1) if tick else None


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability; 503 when the database does not answer."""
    body = {
        "database": _database_status(),
        "broker": _broker_status(),
        "beat_last_tick_seconds_ago": _beat_age_seconds(),
    }
    return JsonResponse(body, status=200 if body["database"] == "ok" else 503)


DATABASE_LOST = (
    "The database could not be reached, so nothing was saved. Please try again in a moment."
)
FAILED = "Something went wrong on our side. Please try again."


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: what an unexpected error answers, never a traceback.

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
