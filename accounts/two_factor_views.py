"""My settings → Two-factor sign-in (`/settings/me/two-factor/`): set it up with a QR code,
confirm with a current code, see the recovery codes once, make new ones, turn it off.

Admins only, plus whoever already has it on (they may still turn it off); everyone else gets
404, as for every page they may not use. Every change goes through `accounts.two_factor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login

from accounts import two_factor
from accounts.sign_in import CodeForm
from accounts.web import AuthedRequest
from pipeline_crm.errors import DomainError

FORM_REFUSED = 400


def _page(
    request: AuthedRequest,
    *,
    status: int = 200,
    codes: list[str] | None = None,
    forms: dict[str, CodeForm] | None = None,
) -> HttpResponse:
    """The page as it stands: set-up (QR code, key, confirm form) or, once on, the recovery
    codes left and the forms to make new ones or to turn it off. `codes` are shown once."""
    user, forms = request.user, forms or {}
    context: dict[str, Any] = {"nav": "my-settings", "codes": codes, "required": False}
    if two_factor.has_two_factor(user):
        context |= {
            "enabled": True,
            "codes_left": two_factor.recovery_codes_left(user),
            "regenerate_form": forms.get("regenerate_form") or CodeForm(auto_id="regenerate_%s"),
            "disable_form": forms.get("disable_form") or CodeForm(auto_id="disable_%s"),
        }
    else:
        device = two_factor.start_enrolment(user=user)
        context |= {
            "enabled": False,
            "required": two_factor.must_enrol(user),
            "qr_code": two_factor.qr_code_data_uri(device),
            "secret": two_factor.secret_text(device),
            "confirm_form": forms.get("confirm_form") or CodeForm(auto_id="confirm_%s"),
        }
    return render(request, "accounts/two_factor.html", context, status=status)


def _allowed(request: AuthedRequest) -> None:
    if not two_factor.may_use_two_factor(request.user):
        raise Http404("No such page.")


def _with_code(
    request: AuthedRequest, prefix: str, action: Callable[[str], HttpResponse]
) -> HttpResponse:
    """A POST of one of the page's code forms: `action(code)` answers once the form is filled
    in and the service took the code; otherwise the page shows the form with its error."""
    _allowed(request)
    form = CodeForm(request.POST, auto_id=f"{prefix}_%s")
    if form.is_valid():
        try:
            return action(form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.message)
    return _page(request, status=FORM_REFUSED, forms={f"{prefix}_form": form})


@login_required
@never_cache
@require_GET
def two_factor_page(request: AuthedRequest) -> HttpResponse:
    _allowed(request)
    return _page(request)


def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, POST only, never cached, the code kept out of error reports."""
    return sensitive_post_parameters("code")(login_required(never_cache(require_POST(view))))


@_post_only
def confirm(request: AuthedRequest) -> HttpResponse:
    def turn_on(code: str) -> HttpResponse:
        device, codes = two_factor.confirm_enrolment(user=request.user, code=code)
        otp_login(request, device)  # this session has just proved the code
        messages.success(request, "Two-factor sign-in is on.")
        return _page(request, codes=codes)

    return _with_code(request, "confirm", turn_on)


@_post_only
def regenerate(request: AuthedRequest) -> HttpResponse:
    def make_new(code: str) -> HttpResponse:
        codes = two_factor.regenerate_recovery_codes(user=request.user, code=code)
        messages.success(request, "New recovery codes made; the old ones no longer work.")
        return _page(request, codes=codes)

    return _with_code(request, "regenerate", make_new)


@_post_only
def disable(request: AuthedRequest) -> HttpResponse:
    def turn_off(code: str) -> HttpResponse:
        two_factor.disable(user=request.user, code=code)
        messages.success(request, "Two-factor sign-in is off: your password alone signs in.")
        return redirect("my-settings")

    return _with_code(request, "disable", turn_off)
