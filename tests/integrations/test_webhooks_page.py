"""/settings/webhooks/: admins add a webhook (its secret shown once), edit its events and
status, delete it, and read and resend its deliveries; everyone else gets 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deals import services as deals
from integrations.models import Delivery, Webhook
from integrations.sending import new_delivery
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks/crm"


def _form(prefix, url=PUBLIC_URL, events=("deal.won",), active=True, secret=""):
    data = {f"{prefix}-url": url, f"{prefix}-events": list(events), f"{prefix}-secret": secret}
    if active:
        data[f"{prefix}-active"] = "on"
    return data


def test_everyone_but_admins_gets_404(people):
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    for name in ("rep", "manager"):
        client = signed_in(people[name])
        assert client.get(reverse("webhook-settings")).status_code == 404
        assert client.get(reverse("webhook-detail", args=[webhook.pk])).status_code == 404
        assert htmx_post(client, reverse("webhook-create"), _form("new")).status_code == 404
        assert (
            htmx_post(client, reverse("webhook-delete", args=[webhook.pk]), {}).status_code == 404
        )
    assert Webhook.objects.count() == 1
    anonymous = Client().get(reverse("webhook-settings"))
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_an_admin_adds_a_webhook_and_sees_the_secret_once(admin):
    client = signed_in(admin)
    assert "No webhook yet" in client.get(reverse("webhook-settings")).content.decode()

    added = htmx_post(
        client, reverse("webhook-create"), _form("new", events=["deal.won", "deal.lost"])
    )

    assert added.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.events == ["deal.won", "deal.lost"]
    assert webhook.secret in added.content.decode()
    assert "will not be shown again" in added.content.decode()
    assert added["HX-Push-Url"] == reverse("webhook-detail", args=[webhook.pk])
    again = client.get(reverse("webhook-detail", args=[webhook.pk])).content.decode()
    assert webhook.secret not in again
    assert PUBLIC_URL in again


def test_a_private_url_or_no_event_is_refused_with_the_reason(admin, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client = signed_in(admin)

    private = htmx_post(client, reverse("webhook-create"), _form("new", url="http://10.0.0.1/"))
    none = htmx_post(client, reverse("webhook-create"), _form("new", events=[]))

    assert private.status_code == 422
    assert "private, loopback or link-local" in private.content.decode()
    assert private["HX-Retarget"] == "#webhooks-body"
    assert none.status_code == 422
    assert "Choose at least one event." in none.content.decode()
    assert not Webhook.objects.exists()


def test_an_admin_edits_events_and_pauses_then_deletes(admin):
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"], secret="x" * 20)
    client = signed_in(admin)

    saved = htmx_post(
        client,
        reverse("webhook-update", args=[webhook.pk]),
        _form("edit", events=["deal.created", "activity.created"], active=False),
    )

    assert saved.status_code == 200
    webhook.refresh_from_db()
    assert webhook.events == ["deal.created", "activity.created"]
    assert webhook.active is False
    assert webhook.secret == "x" * 20  # left empty: kept
    assert "paused" in saved.content.decode()

    deleted = htmx_post(client, reverse("webhook-delete", args=[webhook.pk]), {})
    assert deleted.status_code == 200
    assert not Webhook.objects.exists()


def test_the_log_shows_each_delivery_and_resend_queues_it_again(
    admin, rep, team_a, webhook, receiver, after_commit
):
    receiver.answer(500)
    with after_commit():
        deals.mark_won(deal=DealFactory(owner=rep), by=rep)
    failed = Delivery.objects.get()
    client = signed_in(admin)

    page = client.get(reverse("webhook-detail", args=[webhook.pk])).content.decode()
    assert f'data-delivery-id="{failed.pk}"' in page
    assert "retrying" in page
    assert "HTTP 500" in page

    with after_commit():
        resent = htmx_post(client, reverse("webhook-resend", args=[webhook.pk, failed.pk]), {})

    assert resent.status_code == 200
    log = resent.content.decode()
    assert log.lstrip().startswith('<div id="delivery-log"')
    assert log.count("data-delivery-id=") == 2  # the new one on top, queued
    assert "pending" in log
    assert 'hx-trigger="every 5s"' in log  # refreshes itself while a delivery waits
    refreshed = client.get(reverse("webhook-deliveries", args=[webhook.pk]), HTTP_HX_REQUEST="true")
    assert "delivered" in refreshed.content.decode()
    assert Delivery.objects.count() == 2
    assert receiver.events == ["deal.won", "deal.won"]


def test_the_log_pages_through_older_deliveries(admin, webhook):
    for n in range(30):
        new_delivery(
            webhook_id=webhook.pk, event="deal.won", data={"n": n}, at=timezone.now()
        ).save()
    client = signed_in(admin)

    first = client.get(reverse("webhook-detail", args=[webhook.pk])).content.decode()
    older = client.get(
        reverse("webhook-deliveries", args=[webhook.pk]) + "?page=2", HTTP_HX_REQUEST="true"
    ).content.decode()

    assert first.count("data-delivery-id=") == 25
    assert older.count("data-delivery-id=") == 5
    assert "page 2 of 2" in older


def test_the_pipeline_settings_link_to_the_webhooks(admin):
    page = signed_in(admin).get(reverse("pipeline-settings")).content.decode()

    assert reverse("webhook-settings") in page
