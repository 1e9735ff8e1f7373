"""Deactivating a user: they can no longer sign in, and their open work goes to the user the
admin chose, in the same transaction, never left with an inactive owner."""

import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.models import User
from contacts.models import Lead
from deals import live
from deals.models import Deal, FieldChange
from followups.models import Notification
from pipeline_crm.errors import DomainError
from tests.accounts.conftest import can_sign_in
from tests.clients import htmx_post, signed_in
from tests.concurrency import all_at_once, raised
from tests.factories import (
    PASSWORD,
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def deactivate(client, user, **data):
    fields = {f"deactivate-{name}": value for name, value in data.items()}
    return htmx_post(client, f"/settings/users/{user.pk}/deactivate/", fields)


@pytest.fixture
def reps_work(rep):
    """Everything `rep` owns: open and closed alike."""
    now = timezone.now()
    return {
        "open_deals": [DealFactory(owner=rep) for _ in range(3)],
        "won_deal": DealFactory(owner=rep, status=Deal.Status.WON),
        "lost_deal": DealFactory(owner=rep, status=Deal.Status.LOST),
        "lead": LeadFactory(owner=rep, status=Lead.Status.WORKING),
        "dead_lead": LeadFactory(owner=rep, status=Lead.Status.DISQUALIFIED),
        "contact": ContactFactory(owner=rep),
        "company": CompanyFactory(owner=rep),
        "planned": ActivityFactory(owner=rep, due_at=now),
        "done": ActivityFactory(owner=rep, done_at=now),
    }


def owner_of(record):
    return type(record).objects.get(pk=record.pk).owner_id


def test_deactivating_hands_every_open_deal_and_open_record_to_the_chosen_user(
    people, reps_work, admin_user
):
    rep, teammate = people["rep"], people["teammate"]

    response = deactivate(signed_in(admin_user), rep, reassign_to=teammate.pk)

    assert response.status_code == 200, response.content
    assert "users-changed" in response["HX-Trigger"]
    assert not User.objects.get(pk=rep.pk).is_active
    assert not Deal.objects.filter(owner=rep, status=Deal.Status.OPEN).exists()
    for deal in reps_work["open_deals"]:
        assert owner_of(deal) == teammate.pk
    for key in ("lead", "contact", "company", "planned"):
        assert owner_of(reps_work[key]) == teammate.pk, key
    # What was done stays with who did it.
    for key in ("won_deal", "lost_deal", "dead_lead", "done"):
        assert owner_of(reps_work[key]) == rep.pk, key


def test_handed_over_deals_keep_their_history_and_notify_the_new_owner(
    people, reps_work, admin_user
):
    deactivate(signed_in(admin_user), people["rep"], reassign_to=people["teammate"].pk)

    deal = reps_work["open_deals"][0]
    change = FieldChange.objects.get(deal=deal, field="owner")
    assert change.by_id == admin_user.pk
    assert Notification.objects.filter(
        user=people["teammate"], kind=Notification.Kind.ASSIGNED, deal=deal
    ).exists()


def test_open_boards_hear_of_every_handed_over_deal(
    people, reps_work, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    bumped = []
    monkeypatch.setattr(live, "bump_board", lambda pipeline_id, *a, **k: bumped.append(pipeline_id))

    with django_capture_on_commit_callbacks(execute=True):
        services.deactivate_user(user=people["rep"], by=admin_user, reassign_to=people["teammate"])

    assert len(bumped) == len(reps_work["open_deals"])


def test_a_failing_hand_over_undoes_the_whole_deactivation(
    people, reps_work, admin_user, monkeypatch
):
    from contacts import services as contact_services

    def refuse(**kwargs):
        raise DomainError("The contacts could not be handed over.")

    monkeypatch.setattr(contact_services, "hand_over_records", refuse)

    response = deactivate(signed_in(admin_user), people["rep"], reassign_to=people["teammate"].pk)

    assert response.status_code == 422
    assert "could not be handed over" in response.content.decode()
    rep = people["rep"]
    assert User.objects.get(pk=rep.pk).is_active
    assert all(owner_of(deal) == rep.pk for deal in reps_work["open_deals"])
    assert owner_of(reps_work["planned"]) == rep.pk


def test_the_dialog_offers_the_team_manager_and_counts_the_open_work(people, reps_work, admin_user):
    response = signed_in(admin_user).get(
        f"/settings/users/{people['rep'].pk}/deactivate/", HTTP_HX_REQUEST="true"
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "dialog:open" in response["HX-Trigger-After-Settle"]
    assert f'value="{people["manager"].pk}" selected' in page
    assert "3 open deals" in page
    assert "1 lead still in play" in page


def test_unticking_active_in_the_django_admin_hands_over_to_the_team_manager(
    people, reps_work, admin_user
):
    services.update_user(user=people["rep"], by=admin_user, changes={"is_active": False})

    assert all(owner_of(d) == people["manager"].pk for d in reps_work["open_deals"])


def test_without_a_team_manager_the_admin_doing_it_takes_over(admin_user):
    loner = UserFactory(role="rep")
    deal = DealFactory(owner=loner)

    services.deactivate_user(user=loner, by=admin_user)

    assert owner_of(deal) == admin_user.pk


def test_a_deactivated_user_cannot_sign_in_by_form_session_or_token(people, admin_user, api_for):
    rep = people["rep"]
    session = signed_in(rep)
    token = Token.objects.create(user=rep)
    assert session.get("/board/").status_code == 200

    deactivate(signed_in(admin_user), rep, reassign_to=people["teammate"].pk)

    assert not can_sign_in("rep", PASSWORD)
    assert session.get("/board/").status_code == 302  # the open session is over
    api = api_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/deals/").status_code == 401
    fresh = api_for(None).post("/api/auth/token/", {"username": "rep", "password": PASSWORD})
    assert fresh.status_code == 400


def test_a_reactivated_user_signs_in_again_and_their_old_deals_stay_handed_over(
    people, reps_work, admin_user
):
    rep, admin = people["rep"], signed_in(admin_user)
    deactivate(admin, rep, reassign_to=people["teammate"].pk)

    response = htmx_post(admin, f"/settings/users/{rep.pk}/reactivate/", {})

    assert response.status_code == 200
    assert can_sign_in("rep", PASSWORD)
    assert owner_of(reps_work["open_deals"][0]) == people["teammate"].pk


def test_the_last_admin_cannot_be_deactivated(admin_user, rep):
    response = deactivate(signed_in(admin_user), admin_user, reassign_to=rep.pk)

    assert response.status_code == 422
    assert "last admin" in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).is_active


def test_work_cannot_go_to_an_inactive_user_or_back_to_the_user_leaving(people, admin_user):
    gone = UserFactory(is_active=False)
    admin = signed_in(admin_user)

    for taker in (gone, people["rep"]):
        response = deactivate(admin, people["rep"], reassign_to=taker.pk)
        assert response.status_code == 422
    with pytest.raises(DomainError):
        services.deactivate_user(user=people["rep"], by=admin_user, reassign_to=gone)
    assert User.objects.get(pk=people["rep"].pk).is_active


def test_the_api_deactivates_with_a_taker_and_refuses_non_admins(people, reps_work, api_for):
    rep, teammate = people["rep"], people["teammate"]
    url = f"/api/users/{rep.pk}/deactivate/"

    refused = api_for(people["manager"]).post(url, {"reassign_to": teammate.pk})
    assert refused.status_code == 403
    done = api_for(people["admin"]).post(url, {"reassign_to": teammate.pk})

    assert done.status_code == 200
    assert done.json()["is_active"] is False
    assert owner_of(reps_work["open_deals"][0]) == teammate.pk
    again = api_for(people["admin"]).post(f"/api/users/{rep.pk}/reactivate/")
    assert again.json()["is_active"] is True


@pytest.mark.django_db(transaction=True)
def test_two_deactivations_at_once_never_leave_work_with_an_inactive_user(monkeypatch):
    """A's work to B while B's goes to C, both started at the same moment: whichever order they
    finish in, no open deal ends with A or B, and neither fails other than by a clear refusal
    (no deadlock)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions only really overlap on PostgreSQL")
    admin = UserFactory(role="admin")
    a, b, c = (UserFactory(role="rep") for _ in range(3))
    deals = [DealFactory(owner=a), DealFactory(owner=b)]
    both_locked = threading.Barrier(2)
    real_serialize_on = services.serialize_on

    def after_both_locked(*parts):
        if parts == ("user-deactivation",):
            both_locked.wait(timeout=30)
        real_serialize_on(*parts)

    monkeypatch.setattr(services, "serialize_on", after_both_locked)

    def deactivate(user, taker):
        services.deactivate_user(user=user, by=admin, reassign_to=taker)

    outcomes = all_at_once([lambda: deactivate(a, b), lambda: deactivate(b, c)])
    # A clear refusal (B was already gone) is fine; a deadlock or any other failure is the bug.
    failures = [o for o in raised(outcomes) if not isinstance(o, DomainError)]

    assert failures == []
    active = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    assert all(owner_of(deal) in active for deal in deals)
