"""20 clients move one deal with the same version at once: exactly one wins (real PostgreSQL)."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from deals.models import Deal, StageChange
from tests.concurrency import all_at_once, raised
from tests.factories import DealFactory, stage_named

THREADS = 20


# serialized_rollback: the flush after a transactional test would otherwise leave later ones
# without the migration-made roles and default pipeline.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_simultaneous_api_moves_give_one_200_and_nineteen_409(rep, team_a):
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks: run with DATABASE_URL pointing at PostgreSQL")
    deal = DealFactory(owner=rep)
    target = stage_named("Contact")
    history_before = StageChange.objects.filter(deal=deal).count()

    def attempt() -> tuple[int, dict]:
        client = APIClient()
        client.force_authenticate(user=rep)
        response = client.post(
            f"/api/deals/{deal.pk}/move/", {"stage": target.pk, "version": 1}, format="json"
        )
        return response.status_code, response.json()

    answers = all_at_once([attempt] * THREADS)
    assert raised(answers) == []
    codes = sorted(code for code, _ in answers)
    assert codes == [200] + [409] * (THREADS - 1)
    for code, body in answers:
        if code == 409:
            # Every loser is told the deal's current state: already moved, version 2.
            assert body["deal"]["version"] == 2
            assert body["deal"]["stage"] == target.pk
    deal.refresh_from_db()
    assert deal.version == 2
    assert deal.stage == target
    assert StageChange.objects.filter(deal=deal).count() == history_before + 1
    assert Deal.objects.filter(pk=deal.pk, stage=target).exists()
