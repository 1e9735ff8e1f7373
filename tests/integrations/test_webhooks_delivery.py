"""Webhook deliveries reach a real HTTP receiver on 127.0.0.1, signed, once per action, after
the commit (never for a rolled-back change), and are retried until the receiver answers 2xx.

Celery tasks run inline here (`eager_tasks`); test_webhooks_worker.py runs a real worker."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from deals import services as deals
from followups.services import log_activity
from integrations import sending
from integrations.models import Delivery, Event
from integrations.tasks import deliver_due_webhooks
from people.services import convert_lead
from tests.factories import DealFactory, LeadFactory, lost_reason_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(rep, team_a):
    return DealFactory(owner=rep, title="Acme renewal")


def _next_stage(deal):
    return deal.pipeline.stages.filter(kind="open", order__gt=deal.stage.order).order_by("order")[0]


ACTIONS = {
    "deal.created": lambda deal, rep: deals.create_deal(by=rep, title="Globex expansion"),
    "deal.updated": lambda deal, rep: deals.update_deal(
        deal=deal, by=rep, changes={"title": "Acme renewal, 3 years"}
    ),
    "deal.moved": lambda deal, rep: deals.move_deal(
        deal=deal, by=rep, stage=_next_stage(deal), version=deal.version
    ),
    "deal.won": lambda deal, rep: deals.mark_won(deal=deal, by=rep),
    "deal.lost": lambda deal, rep: deals.mark_lost(
        deal=deal, by=rep, reason=lost_reason_entry("Budget cut")
    ),
    "deal.deleted": lambda deal, rep: deals.delete_deal(deal=deal, by=rep),
    "activity.created": lambda deal, rep: log_activity(
        by=rep, kind="call", subject="Call Acme", deal=deal, done=True
    ),
}


@pytest.mark.parametrize("event", list(ACTIONS))
def test_each_action_sends_its_one_event(event, deal, rep, webhook, receiver, after_commit):
    with after_commit():
        ACTIONS[event](deal, rep)

    assert receiver.events == [event]
    assert Delivery.objects.get().event == event


def test_converting_a_lead_sends_lead_converted_with_the_lead_and_its_new_deal(
    rep, team_a, webhook, receiver, after_commit
):
    lead = LeadFactory(owner=rep, company_name="Initech", email="peter@initech.example")

    with after_commit():
        deal = convert_lead(lead=lead, by=rep)

    assert sorted(receiver.events) == ["deal.created", "lead.converted"]
    converted = next(r for r in receiver.requests if r.event == "lead.converted").json["data"]
    assert converted["id"] == lead.pk
    assert converted["status"] == "qualified"
    assert converted["deal"]["id"] == deal.pk
    assert converted["deal"]["lead"] == lead.pk


def test_a_delivery_is_signed_and_shaped_as_the_spec_says(
    deal, rep, admin, webhook, receiver, after_commit, api_for
):
    before = int(time.time())
    with after_commit():
        deals.update_deal(deal=deal, by=rep, changes={"amount": "2500.00"})

    (request,) = receiver.requests
    delivery = Delivery.objects.get()
    assert request.signature_verifies("s3cret-for-the-tests")
    assert not request.signature_verifies("another secret")
    assert request.headers["X-CRM-Event"] == "deal.updated"
    assert request.headers["X-CRM-Delivery"] == str(delivery.pk)
    assert before <= int(request.headers["X-CRM-Timestamp"]) <= time.time()
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json
    assert set(body) == {"id", "event", "created_at", "data"}
    assert body["id"] == str(delivery.pk)
    assert body["event"] == "deal.updated"
    assert dt.datetime.fromisoformat(body["created_at"]).tzinfo is not None
    # The record as the API shows it.
    assert body["data"] == api_for(admin).get(f"/api/deals/{deal.pk}/").json()
    assert body["data"]["amount"] == "2500.00"


def test_a_deleted_deal_is_sent_as_it_was(deal, rep, webhook, receiver, after_commit):
    deal_id = deal.pk
    with after_commit():
        deals.delete_deal(deal=deal, by=rep)

    data = receiver.requests[0].json["data"]
    assert data["id"] == deal_id
    assert data["title"] == "Acme renewal"
    assert data["probability"] == deal.stage.probability


def test_only_subscribed_active_webhooks_receive(deal, rep, webhook, receiver, after_commit):
    webhook.events = [Event.DEAL_WON]
    webhook.save()

    with after_commit():
        deals.update_deal(deal=deal, by=rep, changes={"title": "Renamed"})
        deals.mark_won(deal=deal, by=rep)
    assert receiver.events == ["deal.won"]

    webhook.active = False
    webhook.save()
    with after_commit():
        deals.create_deal(by=rep, title="Nobody hears of this one")
    assert receiver.events == ["deal.won"]


def _create_then_fail(rep):
    with transaction.atomic():
        deals.create_deal(by=rep, title="Never happened")
        raise RuntimeError("the request failed after the service")


def test_nothing_is_sent_when_the_transaction_rolls_back(
    rep, team_a, webhook, receiver, after_commit
):
    with after_commit() as callbacks, pytest.raises(RuntimeError):
        _create_then_fail(rep)

    assert callbacks == []
    assert receiver.requests == []
    assert not Delivery.objects.exists()


def test_a_stage_deleted_with_its_deals_sends_one_move_per_deal(
    rep, admin, webhook, receiver, after_commit
):
    first = DealFactory(owner=rep)
    second = DealFactory(owner=rep, stage=first.stage)
    destination = _next_stage(first)

    with after_commit():
        deals.delete_stage(stage=first.stage, by=admin, destination=destination)

    assert receiver.events == ["deal.moved", "deal.moved"]
    moved = {r.json["data"]["id"]: r.json["data"]["stage"] for r in receiver.requests}
    assert moved == {first.pk: destination.pk, second.pk: destination.pk}


def test_a_failing_receiver_gets_the_retry_and_the_log_shows_it(
    deal, rep, admin, webhook, receiver, after_commit, settings, api_for
):
    settings.WEBHOOK_RETRY_BASE = 0.05  # seconds: the first retry is due at once
    receiver.answer(500)

    with after_commit():
        deals.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("No budget"))

    delivery = Delivery.objects.get()
    assert (delivery.attempts, delivery.status_code, delivery.delivered_at) == (1, 500, None)
    assert "HTTP 500" in delivery.error
    assert delivery.next_attempt_at is not None

    time.sleep(0.1)
    with after_commit():
        assert deliver_due_webhooks() == 1  # beat's sweep finds it due and queues it

    assert receiver.events == ["deal.lost", "deal.lost"]
    first, second = receiver.requests
    assert first.body == second.body  # the same delivery: same id, same bytes
    assert second.signature_verifies(webhook.secret)
    log = api_for(admin).get(f"/api/webhooks/{webhook.pk}/deliveries/").json()
    assert log["count"] == 1
    (entry,) = log["results"]
    assert entry["attempts"] == 2
    assert entry["status_code"] == 200
    assert entry["delivered_at"] is not None
    assert entry["next_attempt_at"] is None
    assert entry["error"] == ""

    # Delivered: neither the sweep nor a duplicate task sends it again.
    with after_commit():
        assert deliver_due_webhooks() == 0
        assert sending.deliver(delivery.pk) is None
    assert len(receiver.requests) == 2


def test_an_unreachable_receiver_is_retried_with_growing_waits(deal, rep, webhook, after_commit):
    webhook.url = "http://127.0.0.1:9/nobody-listens"
    webhook.save()

    with after_commit():
        deals.update_deal(deal=deal, by=rep, changes={"title": "Renamed"})

    delivery = Delivery.objects.get()
    assert delivery.attempts == 1
    assert delivery.status_code is None
    assert "Connection" in delivery.error
    first_wait = delivery.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=50) < first_wait <= dt.timedelta(seconds=60)
    assert sending.retry_delay(2) == 2 * sending.retry_delay(1)
    assert sending.retry_delay(30) == dt.timedelta(hours=6)


def test_a_delivery_failing_for_24_hours_is_given_up(deal, rep, webhook, receiver, after_commit):
    receiver.answer(503)
    delivery = sending.new_delivery(
        webhook_id=webhook.pk,
        event="deal.updated",
        data={"id": deal.pk},
        at=timezone.now() - dt.timedelta(hours=25),
    )
    delivery.save()

    assert sending.deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None
    assert delivery.error.startswith("Gave up after 1 attempts over 24 h")
    assert sending.deliver(delivery.pk) is None
    assert len(receiver.requests) == 1


def test_resend_sends_the_event_again_as_a_new_delivery(
    deal, rep, admin, webhook, receiver, after_commit, api_for
):
    with after_commit():
        deals.mark_won(deal=deal, by=rep)
    original = Delivery.objects.get()

    with after_commit():
        answer = api_for(admin).post(f"/api/webhooks/{webhook.pk}/deliveries/{original.pk}/resend/")

    assert answer.status_code == 202
    assert answer.json()["id"] != str(original.pk)
    first, second = receiver.requests
    assert first.json["data"] == second.json["data"]
    assert second.headers["X-CRM-Delivery"] == answer.json()["id"] == second.json["id"]
    assert second.signature_verifies(webhook.secret)
    assert Delivery.objects.count() == 2


def test_a_private_target_is_refused_at_send_time_without_the_setting(
    deal, rep, webhook, receiver, after_commit, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = False  # saved while allowed, e.g. in development

    with after_commit():
        deals.update_deal(deal=deal, by=rep, changes={"title": "Renamed"})

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert "private, loopback or link-local" in delivery.error
    assert delivery.delivered_at is None


def test_a_paused_webhook_sends_nothing_queued_for_it(deal, rep, webhook, receiver, after_commit):
    delivery = sending.new_delivery(
        webhook_id=webhook.pk, event="deal.updated", data={}, at=timezone.now()
    )
    delivery.save()
    webhook.active = False
    webhook.save()

    assert sending.deliver(delivery.pk) == "failed"
    assert receiver.requests == []
    assert sending.deliver(uuid.uuid4()) is None
