"""The people that matter (SPEC §4) and a signed-in API client for each.

Team A: managed by `manager`, members `rep` and `teammate`.
Team B: managed by `other_manager`, member `outsider`.
"""

import importlib

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from pipeline_crm.jobs import broker_back
from tests.factories import TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Each person fixture hashes a password; the production hasher costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """DRF throttles and the beat tick live in the cache: no test inherits another's, nor a
    broker outage another test simulated (pipeline_crm.jobs holds back publishing after one)."""
    cache.clear()
    broker_back()
    yield
    cache.clear()


MIGRATED_SCORING_RULES = importlib.import_module(
    "contacts.migrations.0005_scoring_rules_from_the_table"
).RULES


@pytest.fixture(autouse=True)
def scoring_rules_as_migrated(request, django_db_blocker):
    """The lead scoring rules the data migration writes, back after a transactional test (a
    browser test) flushed every table: every test meets the rules a fresh install has."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if uses_db:
        from contacts.models import ScoringRule

        with django_db_blocker.unblock():
            if not ScoringRule.objects.exists():
                ScoringRule.objects.bulk_create(
                    ScoringRule(field=field, operator=operator, value=value, points=points)
                    for field, operator, value, points in MIGRATED_SCORING_RULES
                )


@pytest.fixture
def rep(db):
    return UserFactory(username="rep", role="rep")


@pytest.fixture
def teammate(db):
    return UserFactory(username="teammate", role="rep")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider", role="rep")


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role="manager")


@pytest.fixture
def other_manager(db):
    return UserFactory(username="other_manager", role="manager")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role="admin")


@pytest.fixture
def team_a(rep, teammate, manager):
    return TeamFactory(name="Team A", members=[rep, teammate], managers=[manager])


@pytest.fixture
def team_b(outsider, other_manager):
    return TeamFactory(name="Team B", members=[outsider], managers=[other_manager])


@pytest.fixture
def people(rep, teammate, outsider, manager, other_manager, admin_user, team_a, team_b):
    """Everyone, with both teams in place."""
    return {
        "rep": rep,
        "teammate": teammate,
        "outsider": outsider,
        "manager": manager,
        "other_manager": other_manager,
        "admin": admin_user,
    }


@pytest.fixture
def api_for():
    """api_for(user) -> an APIClient signed in as that user (None: anonymous)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


def pytest_collection_modifyitems(items):
    """Every transactional test reloads the migration-made rows (roles, default pipeline).

    Such a test ends with a flush that empties every table; without `serialized_rollback` the
    next transactional test would start without the `rep` group or the default pipeline.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
            {"transactional_db", "live_server"} & set(names)
        )
        if transactional and "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")
        if transactional and marker and not marker.kwargs.get("serialized_rollback"):
            # pytest-django decides which databases to serialize at set-up from the markers
            # alone: without this, there would be nothing to reload after the first flush.
            kwargs = {**marker.kwargs, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)
