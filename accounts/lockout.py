"""What a locked-out sign-in sees (django-axes calls `lockout_response`, AXES_LOCKOUT_CALLABLE).

The login form shows itself again with a plain message; the API token endpoint answers 429 with
a `detail` like DRF's throttles (SPEC §8). Both carry Retry-After, the cool-off in seconds.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_STATUS = 429


def lockout_message() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return (
        "Too many failed sign-in attempts for this account or from this address. "
        f"Signing in is locked for {minutes} minutes; try again later or ask an admin."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    message = lockout_message()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=LOCKED_STATUS)
    else:
        # An unbound form: binding it would try the password again (and count a failure).
        username = str(request.POST.get("username", ""))[:150]
        form = AuthenticationForm(request, initial={"username": username})
        context = {"form": form, "locked_out": message, "next": request.POST.get("next", "")}
        response = render(request, "registration/login.html", context, status=LOCKED_STATUS)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
