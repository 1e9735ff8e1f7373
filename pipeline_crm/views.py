"""Project-level pages: the signed-in home, the health check and the 404 answer."""

import logging

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from pipeline_crm.tasks import BEAT_TICK_KEY

logger = logging.getLogger(__name__)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: an address no URL matches. Under /api/ the JSON `{"detail"}` every other
    API error has (e.g. `/api/deals/1.5/`), elsewhere Django's page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


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
