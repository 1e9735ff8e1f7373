"""Who sees and changes what through the API (SPEC §4).

Records belong to `rep` (team A, managed by `manager`); `teammate` is in team A too; `outsider`
is in team B (managed by `other_manager`). Outside sight → 404, visible but not writable → 403,
anonymous → 401.
"""

import pytest

from contacts.models import Contact, Lead
from deals.models import Deal
from tests.factories import stage_named

pytestmark = pytest.mark.django_db

ACTORS = ["anonymous", "rep", "teammate", "outsider", "manager", "other_manager", "admin"]

# How many of the 6 records of each kind (rep 3, teammate 2, outsider 1) each actor lists.
VISIBLE_DEALS_AND_LEADS = {
    "rep": 5,
    "teammate": 5,
    "outsider": 1,
    "manager": 5,
    "other_manager": 1,
    "admin": 6,
}

# What a request on one of rep's records answers, by actor.
READ = {
    "anonymous": 401,
    "rep": 200,
    "teammate": 200,
    "outsider": 404,
    "manager": 200,
    "other_manager": 404,
    "admin": 200,
}
WRITE = {**READ, "teammate": 403}
DELETE = {name: 204 if code == 200 else code for name, code in WRITE.items()}
# Contacts are read by everyone signed in; writes follow the owner rule.
CONTACT_READ = {**READ, "outsider": 200, "other_manager": 200}
CONTACT_WRITE = {**CONTACT_READ, "teammate": 403, "outsider": 403, "other_manager": 403}
CONTACT_DELETE = {name: 204 if code == 200 else code for name, code in CONTACT_WRITE.items()}


def client_for(actor, people, api_for):
    return api_for(None if actor == "anonymous" else people[actor])


@pytest.mark.parametrize(
    ("actor", "kind", "expected"),
    [(actor, "deals", VISIBLE_DEALS_AND_LEADS.get(actor)) for actor in ACTORS]
    + [(actor, "leads", VISIBLE_DEALS_AND_LEADS.get(actor)) for actor in ACTORS]
    + [(actor, "contacts", None if actor == "anonymous" else 6) for actor in ACTORS],
)
def test_list_shows_exactly_what_the_rule_allows(actor, kind, expected, people, owned, api_for):
    response = client_for(actor, people, api_for).get(f"/api/{kind}/")
    if actor == "anonymous":
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers
        return
    assert response.status_code == 200
    assert response.json()["count"] == expected


@pytest.mark.parametrize("actor", ACTORS)
def test_deal_detail_update_move_delete_follow_the_rule(actor, people, owned, api_for):
    deal = owned["deal"]["rep"][0]
    client = client_for(actor, people, api_for)
    url = f"/api/deals/{deal.pk}/"

    assert client.get(url).status_code == READ[actor]

    patched = client.patch(url, {"title": "Renamed"})
    assert patched.status_code == WRITE[actor]
    deal.refresh_from_db()
    assert (deal.title == "Renamed") == (WRITE[actor] == 200)

    moved = client.post(
        f"{url}move/", {"stage": stage_named("Qualification").pk, "version": deal.version}
    )
    assert moved.status_code == WRITE[actor]
    deal.refresh_from_db()
    assert (deal.stage.name == "Qualification") == (WRITE[actor] == 200)

    assert client.delete(url).status_code == DELETE[actor]
    assert Deal.objects.filter(pk=deal.pk).exists() == (DELETE[actor] != 204)


@pytest.mark.parametrize("actor", ACTORS)
def test_lead_detail_update_disqualify_delete_follow_the_rule(actor, people, owned, api_for):
    lead = owned["lead"]["rep"][0]
    client = client_for(actor, people, api_for)
    url = f"/api/leads/{lead.pk}/"

    assert client.get(url).status_code == READ[actor]

    patched = client.patch(url, {"need": "A faster pipeline"})
    assert patched.status_code == WRITE[actor]
    lead.refresh_from_db()
    assert (lead.need == "A faster pipeline") == (WRITE[actor] == 200)

    refused = client.post(f"{url}disqualify/", {"reason": "No budget"})
    assert refused.status_code == WRITE[actor]
    lead.refresh_from_db()
    assert (lead.status == Lead.Status.DISQUALIFIED) == (WRITE[actor] == 200)

    assert client.delete(url).status_code == DELETE[actor]
    assert Lead.objects.filter(pk=lead.pk).exists() == (DELETE[actor] != 204)


@pytest.mark.parametrize("actor", ACTORS)
def test_contact_is_readable_by_all_but_written_by_the_owner_rule(actor, people, owned, api_for):
    contact = owned["contact"]["rep"][0]
    client = client_for(actor, people, api_for)
    url = f"/api/contacts/{contact.pk}/"

    assert client.get(url).status_code == CONTACT_READ[actor]

    patched = client.patch(url, {"title": "CTO"})
    assert patched.status_code == CONTACT_WRITE[actor]
    contact.refresh_from_db()
    assert (contact.title == "CTO") == (CONTACT_WRITE[actor] == 200)

    assert client.delete(url).status_code == CONTACT_DELETE[actor]
    assert Contact.objects.filter(pk=contact.pk).exists() == (CONTACT_DELETE[actor] != 204)


def test_a_record_outside_sight_answers_exactly_like_one_that_does_not_exist(
    people, owned, api_for
):
    hidden = owned["deal"]["outsider"][0]
    client = api_for(people["rep"])
    outside = client.get(f"/api/deals/{hidden.pk}/")
    missing = client.get("/api/deals/999999/")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()


@pytest.mark.parametrize(
    ("actor", "expected"), [("rep", 403), ("manager", 403), ("admin", 201), ("anonymous", 401)]
)
def test_only_admins_configure_pipelines_users_and_teams(actor, expected, people, api_for):
    client = client_for(actor, people, api_for)
    assert client.post("/api/pipelines/", {"name": "Partners"}).status_code == expected
    assert client.post("/api/teams/", {"name": "Team C"}).status_code == expected
    created = client.post(
        "/api/users/", {"username": "newbie", "password": "a-long-Passphrase-9", "role": "rep"}
    )
    assert created.status_code == expected
