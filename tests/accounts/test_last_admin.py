"""The last admin stays an admin, whichever way it is tried: the services, the Django admin
(change form, delete, "delete selected") and the API. One rule: `_keep_one_admin`."""

import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import Role, User
from pipeline_crm.errors import DomainError, NotAllowed
from tests.admin_forms import change_form_data, staff_client
from tests.clients import signed_in
from tests.concurrency import all_at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user):
    return staff_client(admin_user)


@pytest.fixture
def bootstrap_admin(db):
    """The admin `createsuperuser` makes: a superuser in no role group."""
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def fresh(user):
    return User.objects.get(pk=user.pk)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- the service -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"role": Role.MANAGER}, "role"), ({"is_active": False}, "is_active")],
)
def test_the_last_admin_is_neither_demoted_nor_deactivated(admin_user, changes, field):
    with pytest.raises(DomainError) as refused:
        services.update_user(user=admin_user, by=admin_user, changes=changes)

    assert refused.value.field == field
    admin_user = fresh(admin_user)
    assert admin_user.role == Role.ADMIN
    assert admin_user.is_active


def test_the_last_admin_keeps_superuser_when_it_is_their_only_admin_role(bootstrap_admin):
    with pytest.raises(DomainError) as refused:
        services.update_user(
            user=bootstrap_admin, by=bootstrap_admin, changes={"is_superuser": False}
        )

    assert refused.value.field == "is_superuser"
    assert fresh(bootstrap_admin).is_superuser


def test_an_admin_who_is_also_in_the_admin_group_may_drop_superuser(admin_user):
    services.update_user(user=admin_user, by=admin_user, changes={"is_superuser": True})

    services.update_user(user=admin_user, by=admin_user, changes={"is_superuser": False})

    assert fresh(admin_user).role == Role.ADMIN


def test_with_a_second_admin_the_first_may_be_demoted_and_deactivated(admin_user):
    UserFactory(role=Role.ADMIN)

    services.update_user(user=admin_user, by=admin_user, changes={"role": Role.REP})
    services.update_user(user=admin_user, by=admin_user, changes={"is_active": False})

    admin_user = fresh(admin_user)
    assert admin_user.role == Role.REP
    assert not admin_user.is_active


def test_an_inactive_admin_does_not_count_as_another_admin(admin_user):
    UserFactory(role=Role.ADMIN, is_active=False)

    with pytest.raises(DomainError):
        services.update_user(user=admin_user, by=admin_user, changes={"role": Role.REP})


def test_the_last_active_admin_is_not_deleted_even_by_a_deactivated_admin(admin_user):
    deactivated = UserFactory(role=Role.ADMIN, is_active=False)

    with pytest.raises(DomainError):
        services.delete_user(user=admin_user, by=deactivated)

    assert User.objects.filter(pk=admin_user.pk).exists()


def test_nobody_deletes_themselves(admin_user):
    UserFactory(role=Role.ADMIN)

    with pytest.raises(NotAllowed):
        services.delete_user(user=admin_user, by=admin_user)


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions only really overlap on PostgreSQL")
    first, second = UserFactory(role=Role.ADMIN), UserFactory(role=Role.ADMIN)
    # Both demotions are written, not committed, before either asks whether another admin
    # remains: the worst moment, every time.
    both_written = threading.Barrier(2)
    keep_one_admin = services._keep_one_admin

    def after_both_wrote(user, *, field):
        both_written.wait(timeout=30)
        keep_one_admin(user, field=field)

    monkeypatch.setattr(services, "_keep_one_admin", after_both_wrote)

    def demote(user, by):
        services.update_user(user=user, by=by, changes={"role": Role.REP})
        return "demoted"

    outcomes = all_at_once([lambda: demote(first, second), lambda: demote(second, first)])
    outcomes = ["refused" if isinstance(o, DomainError) else o for o in outcomes]

    assert sorted(outcomes) == ["demoted", "refused"]
    assert [u.role for u in (fresh(first), fresh(second))].count(Role.ADMIN) == 1


# --- the Django admin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"), [({"role": Role.REP}, "role"), ({"is_active": False}, "is_active")]
)
def test_the_admin_change_form_shows_the_refusal_on_the_field_and_saves_nothing(
    admin_client, admin_user, changes, field
):
    url = reverse("admin:accounts_user_change", args=[admin_user.pk])
    data = change_form_data(admin_client.get(url), first_name="Renamed", **changes)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors[field] == ["This is the last admin; make someone else admin first."]
    assert form["first_name"].value() == "Renamed"  # the input is kept
    admin_user = fresh(admin_user)
    assert admin_user.first_name != "Renamed"  # and nothing of it saved
    assert admin_user.role == Role.ADMIN
    assert admin_user.is_active


def test_the_admin_change_form_keeps_superuser_on_the_bootstrap_admin(bootstrap_admin):
    client = signed_in(bootstrap_admin)
    url = reverse("admin:accounts_user_change", args=[bootstrap_admin.pk])
    data = change_form_data(client.get(url), is_superuser=False)

    response = client.post(url, data)

    assert response.status_code == 200
    assert "is_superuser" in response.context["adminform"].form.errors
    assert fresh(bootstrap_admin).is_superuser


def test_the_admin_delete_page_refuses_to_delete_the_last_admin_with_a_message(
    admin_client, admin_user
):
    url = reverse("admin:accounts_user_delete", args=[admin_user.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[admin_user.pk])
    assert messages_of(response) == ["You cannot delete yourself."]
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_delete_selected_with_the_last_admin_among_them_deletes_none(admin_client, admin_user, rep):
    url = reverse("admin:accounts_user_changelist")

    response = admin_client.post(
        url,
        {"action": "delete_selected", "_selected_action": [rep.pk, admin_user.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert messages_of(response) == ["You cannot delete yourself."]
    assert User.objects.filter(pk__in=[rep.pk, admin_user.pk]).count() == 2


# --- the API -------------------------------------------------------------------------------


def test_the_api_refuses_to_demote_the_last_active_admin(admin_user, api_for):
    UserFactory(role=Role.ADMIN, is_active=False)

    response = api_for(admin_user).patch(f"/api/users/{admin_user.pk}/", {"role": "manager"})

    assert response.status_code == 400
    assert response.json()["role"] == ["This is the last admin; make someone else admin first."]
    assert fresh(admin_user).role == Role.ADMIN


def test_the_api_refuses_to_delete_the_last_admin(admin_user, api_for):
    response = api_for(admin_user).delete(f"/api/users/{admin_user.pk}/")

    assert response.status_code == 403
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_the_api_deletes_another_admin_when_one_remains(admin_user, api_for):
    other = UserFactory(role=Role.ADMIN)

    response = api_for(admin_user).delete(f"/api/users/{other.pk}/")

    assert response.status_code == 204
    assert not User.objects.filter(pk=other.pk).exists()
