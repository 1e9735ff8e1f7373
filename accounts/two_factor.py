"""Two-factor sign-in (README "Login protection"): a TOTP authenticator app (django-otp's
`TOTPDevice`) plus one-time recovery codes (a `StaticDevice` holding `StaticToken`s).

Who may turn it on: admins (role admin or superuser). Whoever has a confirmed device (an admin
since demoted, say) keeps it, is asked for the code at sign-in and may turn it off.

Every code is checked by `verify_code`, inside its own transaction with the devices locked,
so a code works once (TOTP remembers the last time step it accepted; a recovery code is
deleted) and django-otp's throttle (each wrong code doubles the wait before the next one may
be tried) is saved even when the caller then refuses the request.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.events import TwoFactorChanged
from accounts.visibility import is_admin, require_admin
from pipeline_crm.errors import DomainError, NotAllowed
from pipeline_crm.events import announce

if TYPE_CHECKING:
    from accounts.models import User

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
WRONG_CODE = "That code is not right. Enter the 6 digits your app shows now, or a recovery code."
NO_CODE = "Enter the code from your authenticator app (or a recovery code)."


class WrongPassword(DomainError):
    """The password given to confirm a change is not the user's (callers count it as a failed
    sign-in)."""

    def __init__(self) -> None:
        super().__init__("That is not your password.", field="password")


@dataclass(frozen=True)
class CodeCheck:
    """What `verify_code` found: the device that accepted the code, or why it was refused."""

    device: Device | None
    refusal: str = ""
    recovery_codes_left: int | None = None  # set when a recovery code was used


# --- reads ------------------------------------------------------------------------------------


def app_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if two-factor sign-in is on."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    return bool(TOTPDevice.objects.devices_for_user(user, confirmed=True).exists())


def may_use_two_factor(user: User) -> bool:
    """Admins may turn it on; whoever already has it may manage it."""
    return is_admin(user) or has_two_factor(user)


def must_enrol(user: User) -> bool:
    """ADMIN_TWO_FACTOR_REQUIRED is on and this admin has not set it up yet."""
    return settings.ADMIN_TWO_FACTOR_REQUIRED and is_admin(user) and not has_two_factor(user)


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


def secret_text(device: TOTPDevice) -> str:
    """The key as authenticator apps take it typed in: base32, in groups of four."""
    key = base64.b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// address as an SVG QR code in a data: URI (the CSP allows data: images,
    and an <img> keeps the SVG's own attributes out of the page's style-src)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    out = BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


# --- checking a code --------------------------------------------------------------------------


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _throttled(device: TOTPDevice | StaticDevice) -> str:
    """Why django-otp's throttle refuses to try a code now (after wrong ones), if it does."""
    allowed, data = device.verify_is_allowed()
    if allowed:
        return ""
    wait = max(1, round(((data or {})["locked_until"] - timezone.now()).total_seconds()))
    return f"Too many wrong codes: wait {wait} second{'s' if wait > 1 else ''} and try again."


def _try(device: TOTPDevice | StaticDevice, code: str) -> str:
    """Try the code on the device: "" when it took it, or why not."""
    refusal = _throttled(device)
    if refusal:
        return refusal
    return "" if device.verify_token(code) else WRONG_CODE


@transaction.atomic
def verify_code(*, user: User, code: str) -> CodeCheck:
    """Check a code against the user's app (six digits) or recovery codes (anything else).

    Commits whatever it finds, including the throttle's count of a wrong code, so callers
    refuse the request with `refusal` instead of raising inside this transaction."""
    code = _normalized(code)
    if not code:
        return CodeCheck(None, NO_CODE)
    app = TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update().first()
    if app is None:
        return CodeCheck(None, WRONG_CODE)
    if code.isdigit() and len(code) == app.digits:
        refusal = _try(app, code)
        return CodeCheck(None, refusal) if refusal else CodeCheck(app)
    spare = StaticDevice.objects.devices_for_user(user, confirmed=True).select_for_update().first()
    if spare is None:
        return CodeCheck(None, WRONG_CODE)
    refusal = _try(spare, code)
    if refusal:
        return CodeCheck(None, refusal)
    return CodeCheck(spare, recovery_codes_left=spare.token_set.count())


def _check_or_refuse(user: User, code: str) -> None:
    """Commits the check (see `verify_code`), then refuses a wrong code as a form error."""
    check = verify_code(user=user, code=code)
    if check.device is None:
        raise DomainError(check.refusal, field="code")


# --- changes ----------------------------------------------------------------------------------


@transaction.atomic
def start_enrolment(*, user: User) -> TOTPDevice:
    """The unconfirmed device whose key the set-up page shows (the same one until confirmed,
    so reloading the page does not change the QR code)."""
    if not is_admin(user):
        raise NotAllowed("Only admins can turn on two-factor sign-in.")
    if has_two_factor(user):
        raise DomainError("Two-factor sign-in is already on.")
    pending = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    return pending or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    spare = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=spare, token=code) for code in codes)
    return codes


@transaction.atomic
def _confirm(user: User, code: str, password: str) -> tuple[TOTPDevice, list[str]] | str:
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).select_for_update().first()
    if device is None:
        return "Start again: the set-up page shows a new QR code."
    refusal = _try(device, _normalized(code))
    if refusal:
        return refusal
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    user.set_password(password)  # a fresh hash (new salt) of the same password: see below
    user.save(update_fields=["password"])
    codes = _new_recovery_codes(user)
    announce(TwoFactorChanged(user=user, by=user, change="enabled"))
    return device, codes


def confirm_enrolment(*, user: User, code: str, password: str) -> tuple[TOTPDevice, list[str]]:
    """Turn it on once the user proves their app has the key (a current code) and gives their
    password: returns the device and the recovery codes, which the page shows this once.

    The password is hashed afresh (same password, new salt). Django ties every session to the
    hash, so this signs out every other session: one opened with a stolen password does not
    outlive the second factor (the caller keeps its own with `update_session_auth_hash`).
    A wrong code's throttle is committed before the refusal."""
    if not is_admin(user):
        raise NotAllowed("Only admins can turn on two-factor sign-in.")
    if not user.check_password(password):
        raise WrongPassword()
    result = _confirm(user, code, password)
    if isinstance(result, str):
        raise DomainError(result, field="code")
    return result


@transaction.atomic
def _remove_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def reset(*, user: User, by: User) -> None:
    """An admin removes someone's two-factor sign-in (they lost their phone and their recovery
    codes): their password alone signs in until they set it up again. Not one's own: that is
    `disable`, which asks for a code."""
    require_admin(by, "Only admins can remove someone's two-factor sign-in.")
    if by.pk == user.pk:
        raise NotAllowed("Turn off your own under My settings → Two-factor sign-in.")
    _remove_devices(user)
    announce(TwoFactorChanged(user=user, by=by, change="reset"))


def disable(*, user: User, code: str) -> None:
    """Turn it off: needs a current code or a recovery code (a session left open is not
    enough to remove the second factor)."""
    _check_or_refuse(user, code)
    with transaction.atomic():
        _remove_devices(user)
        announce(TwoFactorChanged(user=user, by=user, change="disabled"))


def regenerate_recovery_codes(*, user: User, code: str) -> list[str]:
    """New recovery codes, the old ones void: needs a current code or a recovery code."""
    _check_or_refuse(user, code)
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        announce(TwoFactorChanged(user=user, by=user, change="recovery_codes"))
        return codes
