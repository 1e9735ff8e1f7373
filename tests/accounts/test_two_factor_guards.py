"""Two-factor sign-in's guards: wrong codes count towards the lockout, the admin wants a
verified session, the API token endpoint wants `otp`, and ADMIN_TWO_FACTOR_REQUIRED."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.accounts.two_factor_helpers import (
    LOGIN,
    LOGIN_CODE,
    PAGE,
    code_now,
    enrol,
    next_code,
    password_step,
)
from tests.admin_forms import staff_client
from tests.clients import signed_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

API_LOGIN = "/api/auth/token/"


def failures(username: str = "admin") -> int:
    return sum(a.failures_since_start for a in AccessAttempt.objects.filter(username=username))


# --- guessing codes ---------------------------------------------------------------------------


def test_a_wrong_code_is_refused_with_a_form_error_and_counted_as_a_failed_sign_in(admin_user):
    enrol(admin_user)
    client = password_step()

    refused = client.post(LOGIN_CODE, {"code": "000000"})

    assert refused.status_code == 200
    assert "That code is not right" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert failures() == 1


def test_five_wrong_codes_lock_the_account_even_for_the_right_code(admin_user):
    device, _ = enrol(admin_user)
    for i in range(5):
        next_code(device)  # lifts django-otp's own wait, to reach axes' limit
        password_step().post(LOGIN_CODE, {"code": f"{i:06d}"})

    client = Client()
    refused = client.post(LOGIN, {"username": "admin", "password": PASSWORD})

    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_during_the_code_step_refuses_even_the_right_code(admin_user):
    device, _ = enrol(admin_user)
    client = password_step()
    for i in range(5):  # meanwhile, someone guesses the password
        Client().post(LOGIN, {"username": "admin", "password": f"guess-{i}"})

    refused = client.post(LOGIN_CODE, {"code": next_code(device)})

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_after_a_wrong_code_even_the_right_one_must_wait_a_moment(admin_user):
    device, _ = enrol(admin_user)
    client = password_step()
    client.post(LOGIN_CODE, {"code": "000000"})
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)  # the code below is unused

    refused = client.post(LOGIN_CODE, {"code": code_now(device)})

    assert "Too many wrong codes: wait" in refused.content.decode()
    assert "_auth_user_id" not in client.session


# --- the Django admin -------------------------------------------------------------------------


def test_the_admin_refuses_a_session_not_verified_by_a_code(admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    enrol(admin_user)
    half = signed_in(admin_user)  # a session signed in without the code (e.g. from before)

    refused = half.get("/admin/", follow=True)

    assert refused.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    assert "Sign in to your pipeline" in refused.content.decode()


def test_the_admin_opens_once_the_code_is_verified(admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    device, _ = enrol(admin_user)
    client = password_step()
    client.post(LOGIN_CODE, {"code": next_code(device)})

    assert client.get("/admin/").status_code == 200


def test_the_admin_login_form_sends_people_to_the_two_step_one(admin_user):
    response = Client().get("/admin/login/?next=/admin/deals/deal/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/deals/deal/"


# --- the API token endpoint -------------------------------------------------------------------


def ask_token(**extra):
    return APIClient().post(API_LOGIN, {"username": "admin", "password": PASSWORD, **extra})


def test_the_token_endpoint_wants_the_code_of_a_user_with_two_factor(admin_user):
    device, _ = enrol(admin_user)

    missing = ask_token()
    wrong = ask_token(otp="000000")
    right = ask_token(otp=next_code(device))

    assert missing.status_code == 400
    assert "otp" in missing.json()
    assert wrong.status_code == 400
    assert wrong.json()["otp"][0].startswith("That code is not right.")
    assert right.status_code == 200
    assert right.json()["token"]
    assert failures() == 1  # the wrong code, not the missing one


def test_wrong_codes_lock_the_token_endpoint_like_wrong_passwords(admin_user):
    device, _ = enrol(admin_user)
    for i in range(5):
        next_code(device)
        ask_token(otp=f"{i:06d}")

    refused = ask_token(otp=next_code(device))

    assert refused.status_code == 429
    assert "token" not in refused.json()


def test_the_token_endpoint_takes_a_recovery_code(admin_user):
    _, codes = enrol(admin_user)
    assert ask_token(otp=codes[1]).status_code == 200
    assert ask_token(otp=codes[1]).status_code == 400


def test_users_without_two_factor_need_no_code(rep):
    response = APIClient().post(API_LOGIN, {"username": "rep", "password": PASSWORD})
    assert response.status_code == 200


# --- turning it off, new recovery codes -------------------------------------------------------


def verified_client(user):
    device, codes = enrol(user)
    client = password_step(user.username)
    client.post(LOGIN_CODE, {"code": next_code(device)})
    return client, device, codes


def test_turning_it_off_needs_a_current_code(admin_user):
    client, device, _ = verified_client(admin_user)

    refused = client.post(f"{PAGE}disable/", {"code": "000000"})
    assert refused.status_code == 400
    assert "That code is not right" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=admin_user).exists()

    done = client.post(f"{PAGE}disable/", {"code": next_code(device)}, follow=True)

    assert "Two-factor sign-in is off" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert not StaticDevice.objects.filter(user=admin_user).exists()
    signed_in_again = Client().post(LOGIN, {"username": "admin", "password": PASSWORD})
    assert signed_in_again["Location"] == "/"


def test_turning_it_off_with_a_recovery_code(admin_user):
    client, _, codes = verified_client(admin_user)
    client.post(f"{PAGE}disable/", {"code": codes[3]})
    assert not TOTPDevice.objects.filter(user=admin_user).exists()


def test_someone_demoted_from_admin_keeps_it_and_may_still_turn_it_off(admin_user):
    client, device, _ = verified_client(admin_user)
    admin_user.groups.clear()  # now a rep

    assert "Turn off two-factor sign-in" in client.get(PAGE).content.decode()
    client.post(f"{PAGE}disable/", {"code": next_code(device)})

    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert client.get(PAGE).status_code == 404


def test_new_recovery_codes_void_the_old_ones(admin_user):
    client, device, old = verified_client(admin_user)

    page = client.post(f"{PAGE}recovery-codes/", {"code": next_code(device)}).content.decode()

    new = [code for code in old if code in page]
    assert new == []
    assert "10 recovery codes left" in client.get(PAGE).content.decode()
    assert ask_token(otp=old[0]).status_code == 400


# --- ADMIN_TWO_FACTOR_REQUIRED ----------------------------------------------------------------


def test_when_required_an_admin_without_it_is_sent_to_set_it_up(admin_user, settings):
    settings.ADMIN_TWO_FACTOR_REQUIRED = True
    client = signed_in(admin_user)

    sent = client.get("/deals/")
    api = client.get("/api/deals/")
    setup = client.get(PAGE)

    assert sent.status_code == 302
    assert sent["Location"] == PAGE
    assert api.status_code == 403
    assert setup.status_code == 200
    assert "Admins must use two-factor sign-in here" in setup.content.decode()
    assert ask_token().status_code == 400


def test_when_required_a_verified_admin_and_other_roles_go_on_as_usual(admin_user, rep, settings):
    settings.ADMIN_TWO_FACTOR_REQUIRED = True
    client, _, _ = verified_client(admin_user)

    assert client.get("/deals/").status_code == 200
    assert signed_in(rep).get("/deals/").status_code == 200


def test_when_required_a_session_not_verified_by_a_code_must_sign_in_again(admin_user, settings):
    settings.ADMIN_TWO_FACTOR_REQUIRED = True
    enrol(admin_user)
    old_session = signed_in(admin_user)

    sent = old_session.get("/deals/")

    assert sent["Location"] == "/accounts/login/?next=/deals/"
    assert "_auth_user_id" not in old_session.session


def test_not_required_by_default(admin_user, settings):
    assert settings.ADMIN_TWO_FACTOR_REQUIRED is False
    assert signed_in(admin_user).get("/deals/").status_code == 200


def test_the_django_admin_lets_an_admin_remove_a_device_without_seeing_its_secrets(admin_user):
    lost_phone = UserFactory(username="boss", role="admin")
    device, _ = enrol(lost_phone)
    spare = StaticDevice.objects.get(user=lost_phone)
    client = staff_client(admin_user)

    listed = client.get("/admin/otp_totp/totpdevice/").content.decode()
    shown = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    codes_page = client.get(f"/admin/otp_static/staticdevice/{spare.pk}/change/")
    client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    assert str(lost_phone) in listed
    assert shown.status_code == 200
    assert device.key not in shown.content.decode()
    assert codes_page.status_code == 404  # recovery codes are nobody else's business
    assert not StaticDevice.objects.filter(user=lost_phone).exists()
    assert Client().post(LOGIN, {"username": "boss", "password": PASSWORD})["Location"] == "/"


def test_an_admin_cannot_remove_their_own_device_in_the_django_admin(admin_user):
    staff_client(admin_user)
    client, device, _ = verified_client(admin_user)

    refused = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert "Turn off your own under My settings" in client.get(refused["Location"]).content.decode()
