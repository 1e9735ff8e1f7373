"""The board's text filter also finds a deal by its contact's name (issue 10)."""

import re

import pytest
from django.urls import reverse

from tests.clients import signed_in
from tests.factories import ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def shown(user, q):
    html = signed_in(user).get(reverse("board"), {"q": q}).content.decode()
    return {int(pk) for pk in re.findall(r'<li class="card[^"]*"\s+id="deal-(\d+)"', html)}


def test_the_board_filter_finds_a_deal_by_its_contacts_first_last_or_full_name(
    rep, outsider, team_a
):
    ines = ContactFactory(first_name="Ines", last_name="Moreau")
    deal = DealFactory(owner=rep, title="Fleet rollout", contact=ines)
    DealFactory(owner=rep, title="Something else")
    DealFactory(owner=outsider, title="Not the rep's", contact=ines)

    assert shown(rep, "ines") == {deal.pk}
    assert shown(rep, "moreau") == {deal.pk}
    assert shown(rep, "Ines Moreau") == {deal.pk}
    assert shown(rep, "rollout") == {deal.pk}
