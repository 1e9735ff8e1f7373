"""Helpers of the two-factor tests: codes computed from a device's key, as the phone would."""

import time

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
LOGIN_CODE = "/accounts/login/code/"
PAGE = "/settings/me/two-factor/"


def code_now(device: TOTPDevice) -> str:
    """The code an authenticator app holding the device's key shows now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def next_code(device: TOTPDevice) -> str:
    """A fresh code, as if the app had moved to its next one: a code is accepted once, so
    the device forgets the last one it took, and any wait a wrong code imposed."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()
    return code_now(device)


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor sign-in on for `user` (the services the set-up page calls)."""
    device = two_factor.start_enrolment(user=user)
    return two_factor.confirm_enrolment(user=user, code=code_now(device), password=PASSWORD)


def password_step(username: str = "admin", **client_kwargs) -> Client:
    """A client that has passed the password step (and so waits at the code step)."""
    client = Client(**client_kwargs)
    response = client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == LOGIN_CODE
    return client
