"""API test helpers: a fresh throttle history per test, deals and records owned by each person."""

import pytest
from django.core.cache import cache

from tests.factories import ContactFactory, DealFactory, LeadFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Each person fixture hashes a password; the production hasher costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_throttle_history():
    """DRF throttles count requests in the cache; a shared Redis must not carry them over."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owned(people):
    """Deals, leads and contacts: 3 owned by rep, 2 by teammate, 1 by outsider.

    Returns {"deal"|"lead"|"contact": {owner name: [records]}}.
    """
    counts = {"rep": 3, "teammate": 2, "outsider": 1}
    made: dict[str, dict[str, list]] = {"deal": {}, "lead": {}, "contact": {}}
    for name, count in counts.items():
        owner = people[name]
        made["deal"][name] = DealFactory.create_batch(count, owner=owner)
        made["lead"][name] = LeadFactory.create_batch(count, owner=owner)
        made["contact"][name] = ContactFactory.create_batch(count, owner=owner, company=None)
    return made
