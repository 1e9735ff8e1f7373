"""The Django admin site, with two-factor sign-in (README "Login protection").

The admin's own login form would sign in with the password alone, so it sends people to the
app's login form (`accounts.sign_in`, which asks for the code). And a session of a user with
two-factor sign-in opens the admin only once verified by a code, whatever signed it in.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts import two_factor


def second_factor_done(request: HttpRequest) -> bool:
    """Verified by a code in this session, or the user has no second factor to ask for."""
    user = request.user
    if getattr(user, "otp_device", None) is not None:
        return True
    return user.is_authenticated and not two_factor.has_two_factor(user)


class CrmAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_done(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        next_page = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect_to_login(next_page)
