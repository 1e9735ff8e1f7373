"""An admin invites someone by e-mail; the link in the e-mail lets them choose a password and
sign in (Django's password-reset token, so it stops working once used)."""

import pytest
from django.core import mail

from accounts.models import Role, User
from followups.models import EmailOutbox
from tests.accounts.conftest import can_sign_in, sent_link, set_password_through
from tests.clients import htmx_post, signed_in

pytestmark = pytest.mark.django_db

INVITE = "/settings/users/invite/"


def invite(client, **fields):
    data = {f"invite-{name}": value for name, value in fields.items()}
    return htmx_post(client, INVITE, data)


def test_an_invited_user_sets_a_password_from_the_email_and_signs_in(
    admin_user, team_a, new_password
):
    response = invite(
        signed_in(admin_user),
        first_name="Nina",
        last_name="Novak",
        email="Nina@Example.com",
        role=Role.MANAGER,
        teams=[team_a.pk],
    )

    assert response.status_code == 200
    assert "users-changed" in response["HX-Trigger"]
    nina = User.objects.get(email="Nina@example.com")
    assert (nina.username, nina.role, nina.is_invited) == ("Nina@example.com", "manager", True)
    assert list(nina.teams.all()) == [team_a]
    assert not can_sign_in(nina.username, new_password)  # no password until they choose one

    link = sent_link("Nina@example.com")
    set_password_through(link, new_password)

    assert can_sign_in("Nina@example.com", new_password)
    assert not User.objects.get(pk=nina.pk).is_invited
    again = signed_in(admin_user).get(link, follow=True)  # used once: no second use
    assert again.context["validlink"] is False


def test_the_invitation_mail_says_who_invited_and_the_username(admin_user):
    invite(signed_in(admin_user), email="sam@example.com", role=Role.REP)
    sent_link("sam@example.com")

    message = mail.outbox[-1]
    assert str(admin_user) in message.subject
    assert "sam@example.com" in message.body
    assert message.alternatives  # an HTML part too


def test_the_api_token_login_works_with_the_password_chosen_from_the_invitation(
    admin_user, api_for, new_password
):
    created = api_for(admin_user).post("/api/users/", {"email": "api@example.com"})
    assert created.status_code == 201
    assert created.json()["invited"] is True

    set_password_through(sent_link("api@example.com"), new_password)

    token = api_for(None).post(
        "/api/auth/token/", {"username": "api@example.com", "password": new_password}
    )
    assert token.status_code == 200
    assert token.json()["token"]


def test_an_email_already_in_use_is_refused_in_the_dialog(admin_user, rep):
    response = invite(signed_in(admin_user), email=rep.email.upper(), role=Role.REP)

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#dialog-body"
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact=rep.email).count() == 1
    assert EmailOutbox.objects.count() == 0


def test_a_bad_email_is_a_field_error_and_nobody_is_created(admin_user):
    response = invite(signed_in(admin_user), email="not-an-address", role=Role.REP)

    assert response.status_code == 422
    assert "valid email" in response.content.decode().lower()
    assert User.objects.count() == 1


def test_resending_mails_a_fresh_link_that_works(admin_user, new_password):
    invite(signed_in(admin_user), email="late@example.com", role=Role.REP)
    sent_link("late@example.com")
    late = User.objects.get(email="late@example.com")

    response = htmx_post(signed_in(admin_user), f"/settings/users/{late.pk}/resend-invitation/", {})

    assert response.status_code == 200
    second = sent_link("late@example.com")
    assert len([m for m in mail.outbox if m.to == ["late@example.com"]]) == 2
    set_password_through(second, new_password)
    assert can_sign_in("late@example.com", new_password)


def test_no_invitation_is_resent_to_someone_who_already_has_a_password(admin_user, rep):
    response = htmx_post(signed_in(admin_user), f"/settings/users/{rep.pk}/resend-invitation/", {})

    assert response.status_code == 400
    assert "already set a password" in response.content.decode()
    assert EmailOutbox.objects.count() == 0


def test_the_invitation_email_waits_in_the_outbox_until_delivered(admin_user):
    invite(signed_in(admin_user), email="queued@example.com", role=Role.REP)

    queued = EmailOutbox.objects.get(to="queued@example.com")
    assert queued.sent_at is None  # written with the user, in the same transaction
    assert mail.outbox == []
    sent_link("queued@example.com")
    queued.refresh_from_db()
    assert queued.sent_at is not None
