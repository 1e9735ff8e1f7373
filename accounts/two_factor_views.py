"""My settings → Two-factor sign-in (`/settings/me/two-factor/`): set it up with a QR code,
confirm with a current code, see the recovery codes once, make new ones, turn it off.

Admins only, plus whoever already has it on (they may still turn it off); everyone else gets
404, as for every page they may not use. Every change goes through `accounts.two_factor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login

from accounts import two_factor
from accounts.lockout import lockout_message
from accounts.sign_in import CodeForm, count_failed_sign_in
from accounts.web import AuthedRequest
from pipeline_crm.errors import DomainError

FORM_REFUSED = 400


def _page(
    request: AuthedRequest,
    *,
    status: int = 200,
    codes: list[str] | None = None,
    bound: dict[str, CodeForm] | None = None,
) -> HttpResponse:
    """The page as it stands: set-up (QR code, key, confirm form) or, once on, the recovery
    codes left and the forms to make new ones or to turn it off. `codes` are shown once;
    `bound` holds a form sent back with its errors."""
    user, bound = request.user, bound or {}
    context: dict[str, Any] = {"nav": "my-settings", "codes": codes, "required": False}
    if two_factor.has_two_factor(user):
        context |= {
            "enabled": True,
            "codes_left": two_factor.recovery_codes_left(user),
            "regenerate_form": bound.get("regenerate_form") or CodeForm(auto_id="regenerate_%s"),
            "disable_form": bound.get("disable_form") or CodeForm(auto_id="disable_%s"),
        }
    else:
        device = two_factor.start_enrolment(user=user)
        context |= {
            "enabled": False,
            "required": two_factor.must_enrol(user),
            "qr_code": two_factor.qr_code_data_uri(device),
            "secret": two_factor.secret_text(device),
            "confirm_form": bound.get("confirm_form") or EnrolForm(auto_id="confirm_%s"),
        }
    return render(request, "accounts/two_factor.html", context, status=status)


def _allowed(request: AuthedRequest) -> None:
    if not two_factor.may_use_two_factor(request.user):
        raise Http404("No such page.")


class EnrolForm(CodeForm):
    """Turning it on also asks for the password (it signs out every other session)."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _with_code(
    request: AuthedRequest,
    prefix: str,
    action: Callable[[dict[str, str]], HttpResponse],
    form_class: type[CodeForm] = CodeForm,
) -> HttpResponse:
    """A POST of one of the page's code forms: `action(cleaned_data)` answers once the form is
    filled in and the service took it; otherwise the page shows the form with its error."""
    _allowed(request)
    form = form_class(request.POST, auto_id=f"{prefix}_%s")
    if form.is_valid():
        try:
            return action(form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else "code", exc.message)
    return _page(request, status=FORM_REFUSED, bound={f"{prefix}_form": form})


@login_required
@never_cache
@require_GET
def two_factor_page(request: AuthedRequest) -> HttpResponse:
    _allowed(request)
    return _page(request)


def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, POST only, never cached, code and password kept out of error reports."""
    hidden = sensitive_post_parameters("code", "password")
    return hidden(login_required(never_cache(require_POST(view))))


@_post_only
def confirm(request: AuthedRequest) -> HttpResponse:
    user = request.user

    def turn_on(data: dict[str, str]) -> HttpResponse:
        if AxesProxyHandler.is_locked(request, {"username": user.get_username()}):
            raise DomainError(lockout_message(), field="password")
        try:
            device, codes = two_factor.confirm_enrolment(
                user=user, code=data["code"], password=data["password"]
            )
        except two_factor.WrongPassword:
            count_failed_sign_in(request, user)  # a password guess, like one at sign-in
            raise
        update_session_auth_hash(request, user)  # every other session is signed out
        otp_login(request, device)  # and this one has just proved the code
        messages.success(request, "Two-factor sign-in is on.")
        return _page(request, codes=codes)

    return _with_code(request, "confirm", turn_on, EnrolForm)


@_post_only
def regenerate(request: AuthedRequest) -> HttpResponse:
    def make_new(data: dict[str, str]) -> HttpResponse:
        codes = two_factor.regenerate_recovery_codes(user=request.user, code=data["code"])
        messages.success(request, "New recovery codes made; the old ones no longer work.")
        return _page(request, codes=codes)

    return _with_code(request, "regenerate", make_new)


@_post_only
def disable(request: AuthedRequest) -> HttpResponse:
    def turn_off(data: dict[str, str]) -> HttpResponse:
        two_factor.disable(user=request.user, code=data["code"])
        messages.success(request, "Two-factor sign-in is off: your password alone signs in.")
        return redirect("my-settings")

    return _with_code(request, "disable", turn_off)
