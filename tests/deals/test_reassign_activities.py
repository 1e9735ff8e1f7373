"""A deal given to someone else takes its former owner's planned follow-ups with it."""

import pytest
from django.utils import timezone

from deals import services
from followups.models import Activity
from tests.factories import ActivityFactory, DealFactory

pytestmark = pytest.mark.django_db


def test_admin_reassigning_a_deal_to_another_team_moves_its_planned_activities(
    admin_user, rep, teammate, outsider, team_a, team_b
):
    deal = DealFactory(owner=rep)
    planned = ActivityFactory(deal=deal, owner=rep)
    done = ActivityFactory(deal=deal, owner=rep, done_at=timezone.now())
    teammates_call = ActivityFactory(deal=deal, owner=teammate)
    elsewhere = ActivityFactory(deal=DealFactory(owner=rep), owner=rep)

    services.update_deal(deal=deal, by=admin_user, changes={"owner": outsider})

    owners = dict(Activity.objects.values_list("pk", "owner_id"))
    assert owners[planned.pk] == outsider.pk  # the work follows the deal
    assert owners[done.pk] == rep.pk  # who did it stays who did it
    assert owners[teammates_call.pk] == teammate.pk  # not the former owner's
    assert owners[elsewhere.pk] == rep.pk  # another deal
    assert not Activity.objects.visible_to(rep).filter(pk=planned.pk).exists()
    assert Activity.objects.writable_by(outsider).filter(pk=planned.pk).exists()


def test_editing_other_fields_leaves_activities_with_their_owner(manager, rep, team_a):
    deal = DealFactory(owner=rep)
    planned = ActivityFactory(deal=deal, owner=rep)

    services.update_deal(deal=deal, by=manager, changes={"title": "Renamed"})

    planned.refresh_from_db()
    assert planned.owner == rep
