"""Project middleware: body size limit, htmx sessions sent to the login, private caching."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse


def body_limit(path: str) -> int | None:
    """The largest body a path accepts: `DATA_UPLOAD_MAX_MEMORY_SIZE`, or more where
    `LARGE_BODY_PATHS` (path prefix → bytes) allows a file upload (CSV imports)."""
    for prefix, limit in getattr(settings, "LARGE_BODY_PATHS", {}).items():
        if path.startswith(prefix):
            return int(limit)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else int(limit)


def request_too_large_detail(path: str = "") -> str:
    """What a 413 says: the path's limit (`body_limit`) in words."""
    limit = body_limit(path) or 0
    mebibyte = 1024 * 1024
    size = f"{limit // mebibyte} MB" if limit % mebibyte == 0 else f"{limit} bytes"
    return f"The request body is too large: this server accepts at most {size}."


def request_too_large(request: HttpRequest) -> HttpResponse:
    """413: JSON `{"detail": ...}` under /api/ (SPEC §8), a short plain-text message elsewhere."""
    detail = request_too_large_detail(request.path_info)
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=413)
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads a malformed Content-Length as no body too


class RequestBodyLimitMiddleware:
    """Refuse a request body over `DATA_UPLOAD_MAX_MEMORY_SIZE` with 413, before any view runs.

    The Content-Length header is checked up front, so an oversize body is never read. A body
    that only turns out too large while it is read (chunked, without Content-Length, on ASGI)
    raises Django's `RequestDataTooBig`: for a form POST this reads it here, before the CSRF
    check would (which lets it escape as a 400); a view that reads it later ends in
    `process_exception`; the API's exception handler answers it for DRF views. The app takes
    no file uploads but CSV imports, so the whole body is held to the limit; the import paths
    (`LARGE_BODY_PATHS`) to theirs, their file's own limit being checked by the import.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request.path_info)
        if limit is not None and _declared_length(request) > limit:
            return request_too_large(request)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if request.method != "POST" or getattr(view_func, "csrf_exempt", False):
            return None
        try:
            request.POST  # noqa: B018 - parsed now, as the CSRF check is about to
        except RequestDataTooBig:
            return request_too_large(request)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return request_too_large(request)
        return None


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session expired must send the whole page to the login form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        is_htmx = request.headers.get("HX-Request") == "true"
        if (
            is_htmx
            and response.status_code == 302
            and "/accounts/login/" in response.get("Location", "")
        ):
            # htmx follows a 302 inside the swap target; HX-Redirect reloads the whole page.
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response


class PrivateCacheMiddleware:
    """A response to a signed-in user (session or API token) is not stored by any cache:
    `Cache-Control: private, no-store` on pages, htmx partials, API answers and CSV files alike.

    A response that already carries its own Cache-Control (a view that chose its caching, e.g.
    `never_cache`, the token-keyed calendar feed's `private, max-age=300`) keeps it. Requests
    with neither a session cookie nor an Authorization header are anonymous and left alone, so
    the session is not read just to find that out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control") or not _may_be_signed_in(request):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response


def _may_be_signed_in(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "Authorization" in request.headers
