"""People drawn by `{% avatar %}`: initials on a colour of their own, the full name on hover, and
the same person drawn the same way on every page."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse

from accounts.avatars import PALETTE_SIZE, Avatar, colour_index
from demo.demo_data import PEOPLE
from tests.clients import signed_in
from tests.factories import DealFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

APP_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"


def draw(template: str, **context) -> str:
    return Template("{% load avatars %}" + template).render(Context(context))


def colour_of(html: str, person) -> str:
    """The palette class of the avatar named after `person` in a page."""
    found = re.search(rf'class="avatar (avatar-c\d+)[^"]*" title="[^"]*{person}"', html)
    assert found, f"no avatar for {person}"
    return found.group(1)


def relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_colour_of_the_palette_keeps_white_initials_readable():
    css = APP_CSS.read_text()
    palette = dict(re.findall(r"\.avatar-c(\d+) \{ background: (#[0-9a-f]{6}); \}", css))

    assert sorted(map(int, palette)) == list(range(PALETTE_SIZE))
    for colour in palette.values():
        contrast = 1.05 / (relative_luminance(colour) + 0.05)
        assert contrast >= 4.5, f"{colour} against white: {contrast:.2f}:1, below WCAG AA"
    assert len(set(palette.values())) == PALETTE_SIZE


def test_two_people_with_the_same_initials_get_different_colours_and_their_own_names(db):
    rita = UserFactory(first_name="Rita", last_name="Reyes")
    ravi = UserFactory(first_name="Ravi", last_name="Rao")

    html = draw("{% avatar a %}{% avatar b %}", a=rita, b=ravi)

    assert rita.initials == ravi.initials == "RR"
    assert colour_of(html, "Rita Reyes") != colour_of(html, "Ravi Rao")
    assert 'title="Rita Reyes" role="img" aria-label="Rita Reyes">RR</span>' in html
    assert 'title="Ravi Rao" role="img" aria-label="Ravi Rao">RR</span>' in html


def test_the_demo_pairs_with_the_same_initials_differ_in_colour(db):
    """seed_demo creates its people in this order: Rita and Ravi, Sam and Sara are each other's
    neighbours, so their ids differ by less than the palette's size."""
    users = {
        p.username: UserFactory(first_name=p.first_name, last_name=p.last_name) for p in PEOPLE
    }

    for one, other in (("rita", "ravi"), ("sam", "sara")):
        assert users[one].initials == users[other].initials
        assert colour_index(users[one].pk) != colour_index(users[other].pk)


def test_anyone_fewer_than_twelve_ids_apart_has_another_colour():
    colours = [colour_index(pk) for pk in range(100, 100 + PALETTE_SIZE)]

    assert len(set(colours)) == PALETTE_SIZE
    assert colour_index(7) == colour_index(7)


def test_a_label_a_size_and_a_written_name_beside_it(db):
    rita = UserFactory(first_name="Rita", last_name="Reyes")

    labelled = draw('{% avatar p label="Owner" size="small" %}', p=Avatar.of(rita))
    beside = draw("{% avatar p decorative=True %}", p=rita)

    assert 'title="Owner: Rita Reyes" role="img" aria-label="Owner: Rita Reyes">RR' in labelled
    assert " small" in labelled
    assert 'aria-hidden="true"' in beside
    assert "role=" not in beside


def test_names_are_escaped_and_nobody_draws_nothing(db):
    odd = UserFactory(first_name='<b>"Zed"</b>', last_name="")

    html = draw("{% avatar p %}|{% avatar nobody %}", p=odd, nobody=None)

    assert "<b>" not in html
    assert "&lt;b&gt;&quot;Zed&quot;&lt;/b&gt;" in html
    assert html.endswith("|")


def test_the_same_person_has_the_same_colour_on_the_board_the_lists_and_the_top_bar(people):
    rep = people["rep"]
    deal = DealFactory(owner=rep, title="Shared")
    LeadFactory(owner=rep)
    client = signed_in(rep)

    board = client.get(reverse("board")).content.decode()
    leads = client.get(reverse("leads")).content.decode()
    deals = client.get(reverse("deal-list")).content.decode()
    page = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()

    expected = f"avatar-c{colour_index(rep.pk)}"
    for html in (board, leads, deals, page):
        assert colour_of(html, str(rep)) == expected
    # The top bar: beside the user's own name, hidden from screen readers.
    assert re.search(rf'class="avatar {expected}" title="{rep}" aria-hidden="true"', board)


def test_a_team_of_the_demo_size_shows_every_member_in_another_colour(db):
    members = [UserFactory(first_name="Sam", last_name=f"S{i}") for i in range(6)]
    TeamFactory(members=members)

    assert len({colour_index(m.pk) for m in members}) == len(members)
