"""/api/webhooks/ (SPEC §9): admins only, the secret shown once, bad input answered 400 with
field errors, private targets refused unless allowed."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from integrations.models import Delivery, Webhook
from integrations.sending import new_delivery

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hooks/crm"  # an IP literal: no DNS needed
OWN_SECRET = "my-own-secret-of-enough-length"  # noqa: S105 (a test's)
NEW_SECRET = "a-brand-new-secret-value"  # noqa: S105


def _delivery(webhook, **data):
    delivery = new_delivery(webhook_id=webhook.pk, event="deal.won", data=data, at=timezone.now())
    delivery.save()
    return delivery


def test_an_admin_creates_a_webhook_and_sees_its_secret_only_in_the_answer(admin, api_for):
    api = api_for(admin)

    created = api.post(
        "/api/webhooks/", {"url": PUBLIC_URL, "events": ["deal.won", "deal.created"]}
    )

    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "url", "events", "active", "secret"}
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 30
    assert body["events"] == ["deal.created", "deal.won"]
    assert body["active"] is True
    assert Webhook.objects.get().secret == body["secret"]
    shown = api.get(f"/api/webhooks/{body['id']}/").json()
    assert "secret" not in shown
    assert "secret" not in api.get("/api/webhooks/").json()["results"][0]


def test_a_secret_given_is_kept_and_a_new_one_replaces_it(admin, api_for):
    api = api_for(admin)
    given = "my-own-secret-of-enough-length"
    created = api.post(
        "/api/webhooks/", {"url": PUBLIC_URL, "events": ["deal.won"], "secret": given}
    )
    webhook_id = created.json()["id"]
    assert Webhook.objects.get().secret == given

    changed = api.patch(f"/api/webhooks/{webhook_id}/", {"active": False, "events": ["deal.lost"]})
    assert changed.status_code == 200
    assert changed.json() == {
        "id": webhook_id,
        "url": PUBLIC_URL,
        "events": ["deal.lost"],
        "active": False,
    }
    assert Webhook.objects.get().secret == given  # not sent: kept

    api.patch(f"/api/webhooks/{webhook_id}/", {"secret": NEW_SECRET})
    assert Webhook.objects.get().secret == NEW_SECRET


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": PUBLIC_URL, "events": ["deal.exploded"]}, "events"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": "deal.won"}, "events"),
        ({"url": "ftp://93.184.215.14/x", "events": ["deal.won"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["deal.won"]}, "url"),
        ({"url": "https://", "events": ["deal.won"]}, "url"),
        ({"url": "https://u:p@93.184.215.14/", "events": ["deal.won"]}, "url"),
        ({"events": ["deal.won"]}, "url"),
        ({"url": PUBLIC_URL, "events": ["deal.won"], "secret": "short"}, "secret"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin, api_for, payload, field):
    answer = api_for(admin).post("/api/webhooks/", payload, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_targets_are_refused_without_the_setting(admin, api_for, url, settings):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE = False

    answer = api_for(admin).post("/api/webhooks/", {"url": url, "events": ["deal.won"]})

    assert answer.status_code == 400
    assert "private, loopback or link-local" in answer.json()["url"][0]


def test_private_targets_are_allowed_with_the_setting(admin, api_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True

    answer = api_for(admin).post(
        "/api/webhooks/", {"url": "http://127.0.0.1:8000/hook", "events": ["deal.won"]}
    )

    assert answer.status_code == 201


def test_changing_the_url_to_a_private_one_is_refused(admin, api_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])

    answer = api_for(admin).patch(f"/api/webhooks/{webhook.pk}/", {"url": "http://10.0.0.8/"})

    assert answer.status_code == 400
    assert "url" in answer.json()
    webhook.refresh_from_db()
    assert webhook.url == PUBLIC_URL


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_non_admins_are_refused(people, api_for, who):
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    api = api_for(people[who])

    assert api.get("/api/webhooks/").status_code == 403
    assert api.get(f"/api/webhooks/{webhook.pk}/").status_code == 403
    assert (
        api.post("/api/webhooks/", {"url": PUBLIC_URL, "events": ["deal.won"]}).status_code == 403
    )
    assert api.delete(f"/api/webhooks/{webhook.pk}/").status_code == 403
    assert api.get(f"/api/webhooks/{webhook.pk}/deliveries/").status_code == 403
    assert Webhook.objects.count() == 1


def test_anonymous_callers_get_401(api_for):
    assert api_for(None).get("/api/webhooks/").status_code == 401
    assert api_for(None).post("/api/webhooks/", {}).status_code == 401


def test_the_delivery_log_is_paginated_with_the_spec_fields(admin, api_for):
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    for n in range(3):
        _delivery(webhook, n=n)

    log = api_for(admin).get(f"/api/webhooks/{webhook.pk}/deliveries/").json()

    assert set(log) == {"count", "next", "previous", "results"}
    assert log["count"] == 3
    assert set(log["results"][0]) == {
        "id",
        "event",
        "status_code",
        "attempts",
        "delivered_at",
        "next_attempt_at",
        "error",
    }


def test_the_whole_delivery_log_downloads_as_csv(admin, api_for, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    delivered = {str(_delivery(webhook, n=n).pk) for n in range(3)}

    response = api_for(admin).get(f"/api/webhooks/{webhook.pk}/deliveries/", {"format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert {row["id"] for row in rows} == delivered  # every delivery, not one page
    assert {row["event"] for row in rows} == {"deal.won"}


def test_resending_an_unknown_delivery_is_a_404(admin, api_for):
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    other = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    elsewhere = _delivery(other)
    api = api_for(admin)

    moved = api.post(f"/api/webhooks/{webhook.pk}/deliveries/{elsewhere.pk}/resend/")
    assert moved.status_code == 404
    bad = api.post(f"/api/webhooks/{webhook.pk}/deliveries/not-a-uuid-at-all-no-not-one/resend/")
    assert bad.status_code == 404
    assert Delivery.objects.count() == 1


def test_deleting_a_webhook_removes_its_log(admin, api_for):
    webhook = Webhook.objects.create(url=PUBLIC_URL, events=["deal.won"])
    _delivery(webhook)

    assert api_for(admin).delete(f"/api/webhooks/{webhook.pk}/").status_code == 204
    assert not Delivery.objects.exists()


def test_a_test_ping_reaches_the_receiver(admin, api_for, webhook, receiver, after_commit):
    with after_commit():
        answer = api_for(admin).post(f"/api/webhooks/{webhook.pk}/ping/")

    assert answer.status_code == 202
    (request,) = receiver.requests
    assert request.event == "ping"
    assert request.json["data"]["webhook"] == webhook.pk
    assert request.signature_verifies(webhook.secret)
    assert Delivery.objects.get().delivered_at is not None
