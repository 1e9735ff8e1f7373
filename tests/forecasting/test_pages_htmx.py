"""The forecast pages answer htmx the one house way (`pipeline_crm.htmx`): a swap gets the
dashboard body, a history restore the whole page; refusals are 403 with the message (a toast for
htmx, the refusal page otherwise)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from forecasting.models import Quota

pytestmark = pytest.mark.django_db

REFUSED = "Only admins and managers set quotas."


def test_a_history_restore_gets_the_whole_dashboard(client, manager, forecast_world):
    client.force_login(manager)
    response = client.get(
        reverse("forecast") + "?period=quarter",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert '<div id="forecast-body"' in html


def test_a_plain_request_for_the_quota_page_by_a_rep_gets_the_refusal_page(client, rep):
    client.force_login(rep)
    response = client.get(reverse("forecast-quotas"))
    assert response.status_code == 403
    assert "<html" in response.content.decode()
    assert REFUSED in response.content.decode()


def test_an_htmx_request_for_the_quota_page_by_a_rep_gets_the_message_and_a_toast(client, rep):
    client.force_login(rep)
    response = client.get(reverse("forecast-quotas"), headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response.content.decode() == REFUSED
    assert json.loads(response["HX-Trigger"])["toast"]["message"] == REFUSED


def test_a_rep_may_see_their_quota_but_not_delete_it(client, people):
    rep = people["rep"]
    quota = Quota.objects.create(
        user=rep, period="month", period_start=dt.date(2026, 12, 1), amount=Decimal("10.00")
    )
    client.force_login(rep)
    response = client.post(reverse("forecast-quota-delete", args=[quota.pk]))
    assert response.status_code == 403
    assert "Only admins and managers set quotas." in response.content.decode()
    assert Quota.objects.filter(pk=quota.pk).exists()


def test_a_manager_cannot_delete_another_teams_quota(client, people):
    quota = Quota.objects.create(
        user=people["outsider"],
        period="month",
        period_start=dt.date(2026, 12, 1),
        amount=Decimal("10.00"),
    )
    client.force_login(people["manager"])
    response = client.post(reverse("forecast-quota-delete", args=[quota.pk]))
    assert response.status_code == 404  # not theirs to see
    assert Quota.objects.filter(pk=quota.pk).exists()
