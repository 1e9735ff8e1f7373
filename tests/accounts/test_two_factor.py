"""Two-factor sign-in for admins: set it up from My settings, then sign in with a code."""

import base64
import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.two_factor_helpers import (
    LOGIN,
    LOGIN_CODE,
    PAGE,
    code_now,
    enrol,
    next_code,
    password_step,
)
from tests.clients import signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def shown_codes(html: str) -> list[str]:
    listed = re.search(r'<ul class="code-list" id="recovery-codes">(.*?)</ul>', html, re.S)
    assert listed, html
    return re.findall(r"<code>([a-z2-7]+)</code>", listed.group(1))


# --- setting it up ----------------------------------------------------------------------------


def test_an_admin_finds_it_in_my_settings_and_sees_a_qr_code_and_the_key(admin_user):
    client = signed_in(admin_user)

    assert f'href="{PAGE}"' in client.get("/settings/me/").content.decode()
    page = client.get(PAGE).content.decode()

    assert 'src="data:image/svg+xml;base64,' in page
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert secret.replace(" ", "") == base64.b32encode(device.bin_key).decode()
    assert client.get(PAGE).content.decode().count(secret) == 1  # reloading keeps the key


def test_confirming_with_a_current_code_turns_it_on_and_shows_recovery_codes_once(admin_user):
    client = signed_in(admin_user)
    client.get(PAGE)
    device = TOTPDevice.objects.get(user=admin_user)

    done = client.post(f"{PAGE}confirm/", {"code": code_now(device), "password": PASSWORD})

    assert done.status_code == 200
    codes = shown_codes(done.content.decode())
    assert len(codes) == 10
    assert "Two-factor sign-in is on" in done.content.decode()
    again = client.get(PAGE).content.decode()
    assert "10 recovery codes left" in again
    assert not any(code in again for code in codes)
    assert client.get("/settings/me/").status_code == 200  # this session proved the code


def test_a_wrong_code_does_not_turn_it_on(admin_user):
    client = signed_in(admin_user)
    client.get(PAGE)

    refused = client.post(f"{PAGE}confirm/", {"code": "000000", "password": PASSWORD})

    assert refused.status_code == 400
    assert "That code is not right" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=admin_user, confirmed=True).exists()


def test_turning_it_on_needs_the_password_and_counts_a_wrong_one(admin_user):
    client = signed_in(admin_user)
    client.get(PAGE)
    device = TOTPDevice.objects.get(user=admin_user)

    refused = client.post(f"{PAGE}confirm/", {"code": code_now(device), "password": "guess"})

    assert refused.status_code == 400
    assert "That is not your password" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=admin_user, confirmed=True).exists()
    assert AccessAttempt.objects.get(username="admin").failures_since_start == 1


def test_turning_it_on_signs_out_every_other_session(admin_user):
    elsewhere = signed_in(admin_user)  # e.g. someone who had the password
    client = signed_in(admin_user)
    client.get(PAGE)
    device = TOTPDevice.objects.get(user=admin_user)

    client.post(f"{PAGE}confirm/", {"code": code_now(device), "password": PASSWORD})

    assert client.get("/settings/me/").status_code == 200
    assert elsewhere.get("/settings/me/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_only_admins_may_set_it_up(request, who):
    user = request.getfixturevalue(who)
    client = signed_in(user)

    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}confirm/", {"code": "123456"}).status_code == 404
    assert PAGE not in client.get("/settings/me/").content.decode()
    assert not TOTPDevice.objects.exists()


def test_the_set_up_page_obeys_the_strict_csp(admin_user):
    page = signed_in(admin_user).get(PAGE).content.decode()
    assert "<script>" not in page
    assert "<style" not in page
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


# --- signing in -------------------------------------------------------------------------------


def test_the_password_alone_leaves_the_session_signed_out(admin_user):
    enrol(admin_user)

    client = password_step()

    assert "_auth_user_id" not in client.session
    assert client.get("/settings/me/")["Location"].startswith("/accounts/login/?next=")
    assert client.get("/api/deals/").status_code == 401
    admin = client.get("/admin/", follow=True)
    assert admin.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    assert "Two-factor sign-in for" in client.get(LOGIN_CODE).content.decode()


def test_the_right_code_signs_in(admin_user):
    device, _ = enrol(admin_user)
    client = password_step()

    done = client.post(LOGIN_CODE, {"code": next_code(device)})

    assert done.status_code == 302
    assert int(client.session["_auth_user_id"]) == admin_user.pk
    assert client.get("/settings/me/").status_code == 200


def test_the_code_step_keeps_the_next_page(admin_user):
    device, _ = enrol(admin_user)
    client = Client()
    step = client.post(LOGIN, {"username": "admin", "password": PASSWORD, "next": "/deals/"})
    assert step["Location"] == LOGIN_CODE

    done = client.post(LOGIN_CODE, {"code": next_code(device)})

    assert done["Location"] == "/deals/"


def test_a_user_without_two_factor_signs_in_with_the_password_alone(admin_user):
    response = Client().post(LOGIN, {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_recovery_code_signs_in_exactly_once(admin_user):
    _, codes = enrol(admin_user)

    first = password_step()
    done = first.post(LOGIN_CODE, {"code": codes[0].upper()}, follow=True)
    assert "_auth_user_id" in first.session
    assert "9 left" in done.content.decode()

    second = password_step()
    refused = second.post(LOGIN_CODE, {"code": codes[0]})
    assert "_auth_user_id" not in second.session
    assert "That code is not right" in refused.content.decode()
    assert StaticToken.objects.filter(device__user=admin_user).count() == 9


def test_the_code_step_expires(admin_user, monkeypatch):
    device, _ = enrol(admin_user)
    client = password_step()
    monkeypatch.setattr("accounts.sign_in.PENDING_SECONDS", -1)

    expired = client.post(LOGIN_CODE, {"code": next_code(device)})

    assert expired.status_code == 302
    assert expired["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_the_code_step_without_the_password_step_goes_to_the_login_form():
    response = Client().get(LOGIN_CODE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
