"""Redis stopped while people work (issue 11, point 6): a Redis of the test's own is killed.

The board, moves (board and API), activities, signing in and out keep working from the
database; the password reset limit still holds (each process counts on its own); open boards
reload once when Redis goes and once when it returns, so no change made meanwhile is missed.
"""

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from deals import live
from deals.models import Deal, StageChange
from followups.models import Activity
from pipeline_crm import cache as resilient_cache
from pipeline_crm import rate_limit
from tests.clients import htmx_post, signed_in
from tests.factories import PASSWORD, DealFactory, default_pipeline, stage_named

pytestmark = pytest.mark.django_db

# Each request while Redis is down: no timeout paid, no hang (generous: CI machines are busy).
QUICK_SECONDS = 5.0


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_the_board_moves_and_activities_keep_working_while_redis_is_down(
    on_own_redis, rep, team_a, api_for
):
    deal = DealFactory(owner=rep, stage=stage_named("Prospecting"), title="Acme renewal")
    browser, api = signed_in(rep), api_for(rep)  # the session is cached in Redis too
    on_own_redis.stop()

    board, board_time = timed(lambda: browser.get(reverse("board")))
    assert board.status_code == 200
    assert "Acme renewal" in board.content.decode()

    target = stage_named("Qualification")
    moved, move_time = timed(
        lambda: htmx_post(
            browser, reverse("deal-move", args=[deal.pk]), {"stage": target.pk, "version": 1}
        )
    )
    assert moved.status_code == 200
    assert f'data-stage-id="{target.pk}"' in moved.content.decode()

    contact = stage_named("Contact")
    api_moved, api_time = timed(
        lambda: api.post(f"/api/deals/{deal.pk}/move/", {"stage": contact.pk, "version": 2})
    )
    assert api_moved.status_code == 200, api_moved.content
    logged, log_time = timed(
        lambda: api.post(
            "/api/activities/",
            {"kind": "call", "subject": "Intro call", "deal": deal.pk, "done": True},
        )
    )
    assert logged.status_code == 201, logged.content

    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (contact, 3)
    assert StageChange.objects.filter(deal=deal).count() == 2
    assert Activity.objects.filter(deal=deal, subject="Intro call").exists()
    assert "Intro call" in browser.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    assert max(board_time, move_time, api_time, log_time) < QUICK_SECONDS


def test_a_hung_redis_costs_one_request_a_short_timeout_then_none(
    on_own_redis, rep, team_a, monkeypatch
):
    browser = signed_in(rep)
    failures = []
    trip = resilient_cache._Breaker.trip

    def counted_trip(breaker, error):
        failures.append(error)
        trip(breaker, error)

    monkeypatch.setattr(resilient_cache._Breaker, "trip", counted_trip)
    on_own_redis.hang()
    try:
        first, first_time = timed(lambda: browser.get(reverse("board")))
        second, second_time = timed(lambda: browser.get(reverse("board")))
    finally:
        on_own_redis.wake()

    assert (first.status_code, second.status_code) == (200, 200)
    # One read waited for the socket timeout (2 s); then the breaker skipped Redis.
    assert len(failures) == 1
    assert first_time + second_time < 2 + 2 * QUICK_SECONDS


def test_signing_in_and_out_works_while_redis_is_down(on_own_redis, rep):
    on_own_redis.stop()
    client = Client()

    assert client.get(reverse("login")).status_code == 200
    signed = client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    assert signed.status_code == 302
    assert client.get(reverse("board")).status_code == 200  # the session, from the database
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("board")).status_code == 302  # signed out for good


def test_a_wrong_password_still_counts_towards_the_lockout_while_redis_is_down(
    on_own_redis, rep, settings
):
    settings.AXES_FAILURE_LIMIT = 2
    on_own_redis.stop()
    client = Client()
    for _ in range(2):
        client.post(reverse("login"), {"username": "rep", "password": "wrong"})

    refused = client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    assert refused.status_code == 429  # django-axes counts in the database, not in Redis


def test_the_password_reset_limit_still_holds_while_redis_is_down(on_own_redis, rep, settings):
    """Fail neither open nor closed: each process counts on its own until Redis is back."""
    settings.PASSWORD_RESET_LIMIT = 2
    rate_limit._local.clear()
    on_own_redis.stop()
    client = Client()

    answers = [
        client.post(reverse("password_reset"), {"email": rep.email}).status_code for _ in range(3)
    ]
    assert answers == [302, 302, 429]


def changed(response):
    """What a live poll tells the board: None (204), or (version, columns to reload)."""
    if response.status_code == 204:
        return None
    assert response.status_code == 200
    detail = json.loads(response["HX-Trigger"])["board:changed"]
    return detail["version"], detail["columns"]


def test_open_boards_reload_when_redis_goes_and_again_when_it_returns(
    on_own_redis, rep, team_a, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(resilient_cache, "RETRY_SECONDS", 0.2)
    first, second = stage_named("Prospecting"), stage_named("Qualification")
    deals = DealFactory.create_batch(3, owner=rep, stage=first)
    browser = signed_in(rep)
    live_url = reverse("board-live", args=[default_pipeline().pk])

    def poll(version):
        return changed(browser.get(live_url, {"v": version}))

    def move(deal):
        with django_capture_on_commit_callbacks(execute=True):
            answer = htmx_post(
                browser, reverse("deal-move", args=[deal.pk]), {"stage": second.pk, "version": 1}
            )
        assert answer.status_code == 200

    move(deals[0])
    assert poll(0) == (1, sorted([first.pk, second.pk]))

    on_own_redis.stop()
    assert poll(1) == (live.UNKNOWN, live.EVERYTHING)  # reload once: Redis went away
    assert poll(live.UNKNOWN) is None
    move(deals[1])  # the move works; open boards are not told yet
    assert poll(live.UNKNOWN) is None

    on_own_redis.start()  # empty, as after a crash
    time.sleep(0.3)  # the breaker tries Redis again
    assert poll(live.UNKNOWN) == (0, live.EVERYTHING)  # reload once more: sees deals[1] moved
    move(deals[2])
    assert poll(0) == (1, sorted([first.pk, second.pk]))  # column by column again
    assert Deal.objects.filter(stage=second).count() == 3
