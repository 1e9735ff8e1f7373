"""/settings/users/: the list, its filters, editing role and teams (visibility follows), and
who may reach it at all."""

import pytest
from django.test import Client

from accounts.models import Role, User
from deals.models import Deal
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/settings/users/"


def rows(response):
    """The usernames the user table lists, in order."""
    return [u.username for u in response.context["users"]]


def edit(client, user, **fields):
    data = {f"edit-{name}": value for name, value in fields.items()}
    return htmx_post(client, f"/settings/users/{user.pk}/edit/", data)


def test_the_list_shows_each_user_with_role_teams_and_status(people, admin_user):
    UserFactory(username="gone", first_name="Gone", is_active=False)

    response = signed_in(admin_user).get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Team A" in page
    assert 'badge role-manager">manager' in page
    assert "deactivated" in page
    assert rows(response)[-1] == "gone"  # inactive users last


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("role=manager", {"manager", "other_manager"}),
        ("role=admin", {"admin"}),
        ("status=inactive", {"gone"}),
        ("q=gone+person", {"gone"}),
    ],
)
def test_the_list_filters_by_role_status_and_name(people, admin_user, query, expected):
    UserFactory(username="gone", first_name="Gone", last_name="Person", is_active=False)

    response = signed_in(admin_user).get(f"{PAGE}?{query}", HTTP_HX_REQUEST="true")

    assert set(rows(response)) == expected
    assert 'id="user-table"' in response.content.decode()
    assert "<html" not in response.content.decode()  # just the table for htmx


def test_the_list_filters_by_team(people, admin_user, team_b):
    response = signed_in(admin_user).get(f"{PAGE}?team={team_b.pk}")

    assert set(rows(response)) == {"outsider"}


def test_joining_a_team_lets_a_rep_see_its_deals_at_once(people, admin_user, team_a):
    outsider = people["outsider"]
    deal = DealFactory(owner=people["rep"])
    outsiders_view = signed_in(outsider)
    assert outsiders_view.get(f"/deals/{deal.pk}/").status_code == 404

    response = edit(signed_in(admin_user), outsider, role=Role.REP, teams=[team_a.pk])

    assert response.status_code == 200
    assert outsiders_view.get(f"/deals/{deal.pk}/").status_code == 200
    assert deal in Deal.objects.visible_to(User.objects.get(pk=outsider.pk))


def test_a_rep_made_manager_of_nothing_new_gets_the_role_and_the_admin_role_opens_settings(
    people, admin_user
):
    rep = people["rep"]
    reps_view = signed_in(rep)
    assert reps_view.get(PAGE).status_code == 404

    edit(signed_in(admin_user), rep, role=Role.ADMIN, teams=[])

    assert User.objects.get(pk=rep.pk).role == Role.ADMIN
    assert reps_view.get(PAGE).status_code == 200


def test_the_last_admin_cannot_be_demoted_from_the_page(admin_user):
    response = edit(signed_in(admin_user), admin_user, role=Role.REP)

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#dialog-body"
    assert "last admin" in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN


@pytest.mark.parametrize("who", ["rep", "manager"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", PAGE),
        ("get", "/settings/teams/"),
        ("post", "/settings/users/invite/"),
        ("post", "/settings/users/{rep}/edit/"),
        ("post", "/settings/users/{rep}/deactivate/"),
        ("post", "/settings/users/{rep}/reactivate/"),
        ("post", "/settings/users/{rep}/resend-invitation/"),
        ("post", "/settings/teams/new/"),
        ("post", "/settings/teams/{team}/edit/"),
        ("post", "/settings/teams/{team}/delete/"),
    ],
)
def test_only_admins_reach_the_user_and_team_settings(people, team_a, who, method, url):
    """Like every settings page (`admin_required`): 404 for everyone else, nothing changed."""
    url = url.format(rep=people["rep"].pk, team=team_a.pk)
    data = {"invite-email": "x@example.com", "edit-role": "admin", "team-name": "Mine"}
    client = signed_in(people[who])

    response = getattr(client, method)(url, data) if method == "post" else client.get(url)

    assert response.status_code == 404
    assert not User.objects.filter(email="x@example.com").exists()
    assert User.objects.get(pk=people["rep"].pk).role == Role.REP
    assert User.objects.get(pk=people["rep"].pk).is_active
    assert people["rep"].teams.get() == team_a


def test_signed_out_visitors_are_sent_to_sign_in(db):
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_post_without_the_csrf_token_is_refused(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post("/settings/users/invite/", {"invite-email": "csrf@example.com"})

    assert response.status_code == 403
    assert not User.objects.filter(email="csrf@example.com").exists()


def test_the_settings_pages_link_to_each_other(admin_user):
    client = signed_in(admin_user)

    for url in ("/settings/pipelines/", PAGE, "/settings/teams/"):
        page = client.get(url).content.decode()
        assert 'href="/settings/users/"' in page, url
        assert 'href="/settings/teams/"' in page, url


def test_an_email_cannot_be_given_to_a_second_account(people, admin_user):
    rep, teammate = people["rep"], people["teammate"]

    response = edit(signed_in(admin_user), rep, role=Role.REP, email=teammate.email.upper())

    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert User.objects.get(pk=rep.pk).email == rep.email


def test_inviting_the_address_of_a_deactivated_user_says_to_reactivate_them(admin_user):
    UserFactory(first_name="Old", last_name="Timer", email="old@example.com", is_active=False)

    response = htmx_post(
        signed_in(admin_user),
        "/settings/users/invite/",
        {"invite-email": "old@example.com", "invite-role": Role.REP},
    )

    assert response.status_code == 422
    assert "Old Timer, who is deactivated: reactivate them" in response.content.decode()


def test_the_list_costs_the_same_queries_for_many_users(
    people, admin_user, team_a, django_assert_max_num_queries
):
    client = signed_in(admin_user)
    client.get(PAGE)  # warm: session, the signed-in admin's groups
    for n in range(30):
        team_a.members.add(UserFactory(username=f"many{n}", role="manager"))

    with django_assert_max_num_queries(12):
        response = client.get(PAGE)

    assert len(rows(response)) == 36
