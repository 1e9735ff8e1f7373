"""API test helpers: deals and records owned by each person."""

import pytest

from tests.factories import ContactFactory, DealFactory, LeadFactory


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
