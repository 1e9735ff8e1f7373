"""The top bar's unread count (followups.context_processors.navigation) is read only where a
page draws the bell: pages show it, htmx partials do not pay a query for it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followups.models import Notification
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db

KIND = Notification.Kind.ASSIGNED


def counted_notifications(queries) -> int:
    return sum('"deals_notification"' in q["sql"] and "COUNT(" in q["sql"] for q in queries)


def test_a_page_shows_the_unread_count_in_one_query(client, rep):
    deal = DealFactory(owner=rep)
    Notification.objects.create(user=rep, kind=KIND, deal=deal, message="x", dedupe_key="a")
    Notification.objects.create(user=rep, kind=KIND, deal=deal, message="y", dedupe_key="b")
    client.force_login(rep)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("board")).content.decode()
    assert 'data-count="2"' in page
    assert "Notifications, 2 unread" in page
    assert counted_notifications(queries) == 1


def test_an_htmx_panel_does_not_count_notifications(client, manager):
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/forecast/panel/reps/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert counted_notifications(queries) == 0
