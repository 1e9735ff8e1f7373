"""Response headers: signed-in answers are never cached; error pages hide secrets."""

import sys

import pytest
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.clients import signed_in

pytestmark = pytest.mark.django_db

SIGNED_IN_URLS = [
    "/board/",
    "/leads/",
    "/forecast/",
    "/notifications/",
    "/leads/?format=csv",
    "/api/deals/",
]


@pytest.mark.parametrize("url", SIGNED_IN_URLS)
def test_answers_to_a_signed_in_user_are_private_and_not_stored(url, admin_user):
    response = signed_in(admin_user).get(url)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_htmx_partials_to_a_signed_in_user_are_private_and_not_stored(rep):
    response = signed_in(rep).get("/notifications/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_api_answers_to_a_token_are_private_and_not_stored(rep):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rep).key}")

    response = client.get("/api/deals/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_the_calendar_feed_keeps_its_own_private_caching(rep):
    response = Client().get(f"/calendar/{rep.calendar_token}.ics")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=300"


def test_a_view_that_chose_its_own_caching_keeps_it_for_a_signed_in_user(rep):
    response = signed_in(rep).get("/healthz")

    assert "no-cache" in response["Cache-Control"]  # never_cache's header, untouched
    assert "max-age=0" in response["Cache-Control"]


def test_anonymous_answers_are_not_marked_private():
    response = Client().get("/board/")

    assert response.status_code == 302
    assert not response.has_header("Cache-Control")


SECRET = "s3cret-Redis-pw"  # noqa: S105 - the secret the page must hide


def test_the_debug_error_page_does_not_show_passwords_in_urls(settings):
    settings.DEBUG = True
    settings.REDIS_URL = f"redis://:{SECRET}@127.0.0.1:6379/6"
    settings.CELERY_BROKER_URL = f"redis://:{SECRET}@127.0.0.1:6379/6"
    settings.SENTRY_DSN = f"https://public:{SECRET}@sentry.example.com/1"
    settings.PROVIDER_SETTINGS = {"servers": [f"smtp+tls://mailer:{SECRET}@smtp.example.com:587"]}
    request = RequestFactory().get(
        "/", DATABASE_URL=f"postgres://crm:{SECRET}@db.example.com/crm", HTTP_X_NOTE="fine"
    )

    try:
        connect_to = f"amqp://guest:{SECRET}@broker.example.com//"  # a traceback local
        raise ConnectionError(f"cannot reach {connect_to.split('@')[1]}")
    except ConnectionError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()

    assert "cannot reach broker.example.com" in page
    assert "REDIS_URL" in page
    assert "smtp.example.com" in page  # the rest of a URL stays readable
    assert SECRET not in page
