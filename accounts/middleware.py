"""ADMIN_TWO_FACTOR_REQUIRED (README "Login protection"): when on, a signed-in admin whose
session is not verified by a second factor cannot use the app. One without an authenticator
app is sent to set it up (`/settings/me/two-factor/`); one who has it but whose session
never proved it (signed in before it was turned on) is signed out to sign in again with it.

Off (the default), this costs nothing. On, it costs a query per request only for sessions that
are not verified (a verified session is recognised from the session alone).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import two_factor
from accounts.visibility import is_admin

ENROL_FIRST = "Set up two-factor sign-in first: My settings → Two-factor sign-in."
# Pages an admin still reaches before setting it up: the set-up itself and signing out.
OPEN_PREFIXES = ("/settings/me/two-factor/", "/accounts/logout/", "/static/", "/healthz")


class AdminTwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.ADMIN_TWO_FACTOR_REQUIRED and not request.path.startswith(OPEN_PREFIXES):
            refused = self._refusal(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # OTPMiddleware (before this one) sets otp_device from the session's verified device.
        if getattr(user, "otp_device", None) is not None or not is_admin(user):
            return None
        if two_factor.has_two_factor(user):  # signed in before it was on: sign in again
            logout(request)
            return redirect_to_login(request.get_full_path())
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": ENROL_FIRST}, status=403)
        target = reverse("my-two-factor")
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
