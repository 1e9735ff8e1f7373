"""Signing in, in two steps for users with two-factor sign-in (README "Login protection").

Step one is Django's login form. For a user with a confirmed authenticator app the right
password does not sign in: the session only remembers, for `PENDING_SECONDS`, who passed it,
and `/accounts/login/code/` asks for the code. Until that is right the session is anonymous,
so no page, no API call through the session and no admin page opens. Only then does it call
`login()`, marking the session verified by that device (django-otp's OTPMiddleware reads it).

A wrong code counts as a failed sign-in for django-axes (the username and the client IP),
exactly like a wrong password, so codes are no easier to guess than passwords; django-otp's
throttle adds its own growing wait per device. The API token endpoint uses `check_second_factor`
the same way.
"""

from __future__ import annotations

import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, user_login_failed
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from accounts import two_factor
from accounts.lockout import lockout_response
from accounts.models import User

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60
RECOVERY_USED = (
    "You signed in with a recovery code; {left} left. Make new ones under My settings → "
    "Two-factor sign-in."
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


def count_failed_sign_in(request: HttpRequest, user: User) -> None:
    """A failed sign-in for django-axes (which then may lock the username and the address)."""
    credentials = {"username": user.get_username()}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)


def check_second_factor(request: HttpRequest, user: User, code: str) -> two_factor.CodeCheck:
    """Check a sign-in code; a wrong one counts as a failed sign-in, like a wrong password."""
    check = two_factor.verify_code(user=user, code=code)
    if check.device is None:
        count_failed_sign_in(request, user)
    return check


def _safe_next(request: HttpRequest, url: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else ""


class TwoStepLoginView(auth_views.LoginView):
    """Django's login form; a user with two-factor sign-in goes on to the code step."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        self.request.session.pop(PENDING_KEY, None)
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": getattr(user, "backend", ""),
            "since": time.time(),
            "next": self.get_redirect_url(),
        }
        return redirect("login-code")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """Who passed the password step in this session, if it was lately and they still may."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    return (user, pending) if user is not None else None


def _finish(
    request: HttpRequest, user: User, pending: dict[str, Any], check: two_factor.CodeCheck
) -> HttpResponse:
    del request.session[PENDING_KEY]
    login(request, user, backend=pending["backend"] or None)
    otp_login(request, check.device)
    if check.recovery_codes_left is not None:
        messages.warning(request, RECOVERY_USED.format(left=check.recovery_codes_left))
    next_page = _safe_next(request, pending.get("next", ""))
    return HttpResponseRedirect(next_page or resolve_url(settings.LOGIN_REDIRECT_URL))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponseBase:
    """The second step: the code from the authenticator app, or a recovery code."""
    found = _pending(request)
    if found is None:
        if request.session.pop(PENDING_KEY, None) is not None:
            messages.info(request, "Sign in again: the code step had expired.")
        return redirect("login")
    user, pending = found
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        credentials = {"username": user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            del request.session[PENDING_KEY]
            return lockout_response(request, None, credentials)
        check = check_second_factor(request, user, form.cleaned_data["code"])
        if check.device is not None:
            return _finish(request, user, pending, check)
        form.add_error("code", check.refusal)
        if getattr(request, "axes_locked_out", False):
            del request.session[PENDING_KEY]  # AxesMiddleware answers with the lockout page
    return render(request, "registration/login_code.html", {"form": form, "who": user})


login_view = TwoStepLoginView.as_view()
