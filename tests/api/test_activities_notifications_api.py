"""Activities (log, complete, edit) and one's own notifications through the API."""

import datetime as dt

import pytest
from django.utils import timezone

from followups.models import Activity, Notification
from tests.factories import ActivityFactory, DealFactory, NotificationFactory

pytestmark = pytest.mark.django_db


def test_logging_a_call_on_a_deal_refreshes_its_last_activity(rep, api_for):
    deal = DealFactory(owner=rep, last_activity_at=None, stalled=True, stall_reasons=["idle"])
    response = api_for(rep).post(
        "/api/activities/", {"kind": "call", "subject": "Intro call", "deal": deal.pk, "done": True}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["done_at"] is not None
    assert response.json()["owner"] == rep.pk
    deal.refresh_from_db()
    assert deal.last_activity_at is not None
    assert deal.stalled is False


def test_a_planned_task_is_completed_with_complete(rep, api_for):
    client = api_for(rep)
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    created = client.post(
        "/api/activities/", {"kind": "task", "subject": "Send quote", "due_at": due}
    ).json()
    assert created["done_at"] is None
    done = client.post(f"/api/activities/{created['id']}/complete/")
    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    assert client.get("/api/activities/?done=false").json()["count"] == 0
    assert client.get("/api/activities/?done=true").json()["count"] == 1


def test_activities_cannot_be_logged_on_a_deal_out_of_sight_or_completed_by_a_teammate(
    people, api_for
):
    hidden = DealFactory(owner=people["outsider"])
    response = api_for(people["rep"]).post(
        "/api/activities/", {"subject": "Peek", "deal": hidden.pk}
    )
    assert response.status_code == 400
    assert "deal" in response.json()

    task = ActivityFactory(owner=people["rep"], kind="task")
    teammate = api_for(people["teammate"])
    assert teammate.post(f"/api/activities/{task.pk}/complete/").status_code == 403
    assert api_for(people["outsider"]).get(f"/api/activities/{task.pk}/").status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


def test_rescheduling_an_activity_rearms_its_reminder(rep, api_for):
    task = ActivityFactory(owner=rep, kind="task", reminded_at=timezone.now())
    later = (timezone.now() + dt.timedelta(days=2)).isoformat()
    response = api_for(rep).patch(f"/api/activities/{task.pk}/", {"remind_at": later})
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.reminded_at is None
    assert task.remind_at is not None


def test_an_activity_cannot_be_moved_to_another_deal_by_patch(rep, api_for):
    first, second = DealFactory(owner=rep), DealFactory(owner=rep)
    task = ActivityFactory(owner=rep, deal=first)
    response = api_for(rep).patch(f"/api/activities/{task.pk}/", {"deal": second.pk})
    assert response.status_code == 400
    assert "deal" in response.json()
    assert Activity.objects.get(pk=task.pk).deal == first


def test_notifications_list_only_ones_own(people, api_for):
    mine = NotificationFactory.create_batch(2, user=people["rep"])
    NotificationFactory(user=people["teammate"])
    body = api_for(people["rep"]).get("/api/notifications/").json()
    assert body["count"] == 2
    assert {n["id"] for n in body["results"]} == {n.pk for n in mine}
    assert set(body["results"][0]) == {"id", "kind", "message", "deal", "created_at", "read_at"}


def test_reading_a_notification_marks_only_that_one_and_not_someone_elses(people, api_for):
    mine, other_mine = NotificationFactory.create_batch(2, user=people["rep"])
    theirs = NotificationFactory(user=people["teammate"])
    client = api_for(people["rep"])
    response = client.post(f"/api/notifications/{mine.pk}/read/")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert client.post(f"/api/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    other_mine.refresh_from_db()
    assert theirs.read_at is None
    assert other_mine.read_at is None
    assert client.get("/api/notifications/?unread=true").json()["count"] == 1


def test_read_all_marks_all_of_mine_and_none_of_anyone_elses(people, api_for):
    NotificationFactory.create_batch(3, user=people["rep"])
    theirs = NotificationFactory(user=people["manager"])
    response = api_for(people["rep"]).post("/api/notifications/read-all/")
    assert response.status_code == 200
    assert response.json() == {"marked": 3}
    assert not Notification.objects.filter(user=people["rep"], read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notifications_cannot_be_created_or_deleted_through_the_api(rep, api_for):
    note = NotificationFactory(user=rep)
    client = api_for(rep)
    assert client.post("/api/notifications/", {"message": "hi"}).status_code == 405
    assert client.delete(f"/api/notifications/{note.pk}/").status_code == 405


ACTIVITY_FIELDS = {
    "id", "kind", "subject", "body", "due_at", "remind_at", "done_at", "owner", "deal",
    "contact", "lead", "company",
}  # fmt: skip


def test_an_activity_reads_with_exactly_the_fields_of_the_spec(rep, api_for):
    client = api_for(rep)
    deal = DealFactory(owner=rep)
    created = client.post(
        "/api/activities/",
        {"kind": "meeting", "subject": "Demo", "deal": deal.pk, "done": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert set(created.json()) == ACTIVITY_FIELDS  # `done` is write-only: never shown
    activity_id = created.json()["id"]
    assert set(client.get(f"/api/activities/{activity_id}/").json()) == ACTIVITY_FIELDS
    listed = client.get("/api/activities/").json()["results"]
    assert [set(a) for a in listed] == [ACTIVITY_FIELDS]
    body = listed[0]
    assert (body["kind"], body["subject"], body["deal"], body["owner"]) == (
        "meeting", "Demo", deal.pk, rep.pk,
    )  # fmt: skip
