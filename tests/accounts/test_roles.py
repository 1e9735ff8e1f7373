"""Roles read through the enum: `User.role`, `is_admin` and `is_manager`."""

import pytest

from accounts.models import Role

pytestmark = pytest.mark.django_db


def test_each_person_has_the_role_of_their_strongest_group(people):
    assert people["rep"].role == Role.REP
    assert people["manager"].role == Role.MANAGER
    assert people["admin"].role == Role.ADMIN


def test_only_a_manager_is_a_manager(people):
    assert people["manager"].is_manager
    assert not people["rep"].is_manager
    assert not people["admin"].is_manager
    assert not people["manager"].is_admin


def test_a_superuser_is_an_admin_and_not_a_manager(manager):
    manager.is_superuser = True
    manager.save(update_fields=["is_superuser"])
    manager.__dict__.pop("role", None)

    assert manager.is_admin
    assert not manager.is_manager
