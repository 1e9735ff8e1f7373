"""GET /healthz (SPEC §8): database and broker status; 503 only when the database is gone."""

import os

import pytest
from django.db import OperationalError
from django.test import Client

from pipeline_crm import views
from pipeline_crm.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_answers_anonymous_callers_with_database_and_broker_ok():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis)")
def test_healthz_reaches_the_real_redis_broker_when_redis_url_is_set(settings):
    assert celery_app.conf.broker_url.startswith("redis://")

    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


def test_healthz_answers_503_when_the_database_does_not_answer(monkeypatch):
    class DeadConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", DeadConnection())

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"


def test_healthz_reports_an_unreachable_broker_but_stays_up(monkeypatch):
    # Port 9 (discard) has no Redis: the broker is down, the web app is not.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")

    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "error"


def test_healthz_refuses_writes():
    assert Client().post("/healthz").status_code == 405
