import pytest
from django.db import transaction

from tests.security.url_world import World, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    """Records owned by `rep`, made once per module inside a transaction that is rolled back
    at its end; each test runs in a savepoint of it (pytest-django's own), so a test that
    deletes or changes a record leaves the next one the world as it was made."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)
