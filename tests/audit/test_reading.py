"""Reading the audit log: `/settings/audit/` and GET /api/audit/ for admins only, newest first,
filtered, exported as CSV (itself an entry); never written through the API or the admin;
old entries purged after AUDIT_RETENTION_DAYS."""

import datetime as dt

import pytest
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AppendOnly, AuditEntry
from audit.services import purge_expired, record
from audit.tasks import purge_audit_log
from tests.audit.conftest import logged, only
from tests.export.conftest import read_csv

pytestmark = pytest.mark.django_db

PAGE = "/settings/audit/"
API = "/api/audit/"


def entry(action, actor=None, days_ago=0, label="", **details):
    """An entry as the listeners write it, `days_ago` days back."""
    made = record(action=action, actor=actor, target_label=label, details=details)
    if days_ago:
        at = timezone.now() - dt.timedelta(days=days_ago)
        # Back-dated past the append-only guard, as time would have done.
        QuerySet.update(AuditEntry.objects.filter(pk=made.pk), at=at)
        made.refresh_from_db()
    return made


def shown(page):
    """The entries a page lists, but the sign-in of the client that asked for it."""
    return [e.pk for e in page.context["page"].object_list if e.action != Action.LOGIN]


@pytest.fixture
def history(people):
    """Three entries: a failed sign-in on rep, a role change by the admin, an export by rep."""
    admin, rep = people["admin"], people["rep"]
    return [
        entry(Action.LOGIN_FAILED, label="rep", days_ago=3, username="rep"),
        entry(Action.ROLE_CHANGED, actor=admin, label="teammate", days_ago=1, to="manager"),
        entry(Action.EXPORT, actor=rep, label="deals"),
    ]


def test_the_page_lists_entries_newest_first_with_actor_action_target_and_ip(
    people, history, signed_in
):
    response = signed_in(people["admin"]).get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    rows = [html.index(f'id="audit-{made.pk}"') for made in history]
    assert rows == sorted(rows, reverse=True)
    assert "Role changed" in html
    assert "to: manager" in html
    assert f'href="{PAGE}"' in html  # the settings tab


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "export"}, [2]),
        ({"q": "teammate"}, [1]),
        ({"since": "DAYS_AGO_2"}, [2, 1]),
        ({"until": "DAYS_AGO_2"}, [0]),
    ],
)
def test_the_page_filters_by_action_text_and_dates(query, expected, people, history, signed_in):
    two_days_ago = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    query = {k: two_days_ago if v == "DAYS_AGO_2" else v for k, v in query.items()}

    page = signed_in(people["admin"]).get(PAGE, query)

    assert shown(page) == [history[i].pk for i in expected]


def test_the_page_filters_by_actor(people, history, signed_in):
    page = signed_in(people["admin"]).get(PAGE, {"actor": people["rep"].pk})

    assert shown(page) == [history[2].pk]


def test_non_admins_get_404_and_anonymous_visitors_the_login_form(people, history, signed_in):
    for name in ("rep", "manager"):
        assert signed_in(people[name]).get(PAGE).status_code == 404
        assert signed_in(people[name]).get(PAGE, {"format": "csv"}).status_code == 404
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


def test_the_page_csv_holds_the_filtered_entries_and_is_itself_recorded(people, history, signed_in):
    response = signed_in(people["admin"]).get(PAGE, {"format": "csv", "action": "role_changed"})

    rows = read_csv(response)
    assert rows[0][:4] == ["ID", "When", "Actor", "Action"]
    assert [row[3] for row in rows[1:]] == ["Role changed"]
    export = logged(Action.EXPORT)[-1]
    assert (export.actor, export.target_label) == (people["admin"], "audit-log")
    assert export.details["filters"] == {"action": "role_changed"}


def test_the_page_costs_the_same_queries_for_4_or_60_entries(
    people, history, signed_in, django_assert_max_num_queries
):
    client = signed_in(people["admin"])  # its sign-in is the 4th entry
    client.get(PAGE)  # warm the session and content types
    with django_assert_max_num_queries(6) as few:  # user, role, count, bell, actors, rows
        client.get(PAGE)
    for i in range(56):
        entry(Action.EXPORT, actor=people["rep"], label=f"deals {i}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(PAGE, {"page": 2})
    assert len(response.context["page"].object_list) == 10


def test_the_api_lists_entries_for_admins_with_the_same_filters(people, history, api_for):
    answer = api_for(people["admin"]).get(API, {"action": "role_changed"})

    assert answer.status_code == 200
    (found,) = answer.json()["results"]
    assert found["actor"] == people["admin"].pk
    assert (found["action"], found["action_label"]) == ("role_changed", "Role changed")
    assert (found["target_label"], found["details"]) == ("teammate", {"to": "manager"})
    assert [e["id"] for e in api_for(people["admin"]).get(API).json()["results"]] == [
        made.pk for made in reversed(history)
    ]


def test_the_api_refuses_non_admins_and_anonymous_callers(people, history, api_for):
    assert api_for(people["manager"]).get(API).status_code == 403
    assert api_for(people["rep"]).get(API, {"format": "csv"}).status_code == 403
    assert api_for(None).get(API).status_code == 401
    assert not logged(Action.EXPORT)[1:]  # only the fixture's


def test_a_bad_filter_is_a_400_naming_the_field(people, api_for):
    answer = api_for(people["admin"]).get(API, {"action": "nonsense", "since": "yesterday"})

    assert answer.status_code == 400
    assert set(answer.json()) == {"action", "since"}


def test_an_api_csv_of_the_log_is_itself_recorded(people, history, api_for):
    rows = read_csv(api_for(people["admin"]).get(API, {"format": "csv"}))

    assert len(rows) - 1 == len(history) + 1  # its own entry comes first
    assert rows[1][rows[0].index("action")] == "export"
    assert logged(Action.EXPORT)[-1].details["path"] == API


def test_entries_cannot_be_written_through_the_api(people, history, api_for):
    client = api_for(people["admin"])
    made = history[1]

    assert client.post(API, {"action": "login"}, format="json").status_code == 405
    assert client.patch(f"{API}{made.pk}/", {"target_label": "x"}, format="json").status_code == 405
    assert client.put(f"{API}{made.pk}/", {"target_label": "x"}, format="json").status_code == 405
    assert client.delete(f"{API}{made.pk}/").status_code == 405
    assert AuditEntry.objects.get(pk=made.pk).target_label == "teammate"


def test_entries_are_read_only_in_the_django_admin(people, history):
    admin = people["admin"]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(admin)
    made = history[1]
    change = reverse("admin:audit_auditentry_change", args=[made.pk])

    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert client.get(change).status_code == 200  # to read
    assert client.post(change, {"target_label": "x"}).status_code == 403
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[made.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get(pk=made.pk).target_label == "teammate"


def test_the_code_cannot_change_or_delete_an_entry_either(history):
    made = history[0]
    made.target_label = "x"

    with pytest.raises(AppendOnly):
        made.save()
    with pytest.raises(AppendOnly):
        made.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=made.pk).update(target_label="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == 3


def test_the_purge_removes_only_entries_older_than_the_retention(people, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = entry(Action.LOGIN, actor=people["rep"], days_ago=31)
    recent = entry(Action.LOGIN, actor=people["rep"], days_ago=29)

    assert purge_audit_log() == 1
    assert purge_expired() == 0  # twice: nothing more

    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEntry.objects.filter(pk=old.pk).exists()


def test_deleting_a_user_keeps_their_entries_under_their_name(people, history):
    from accounts import services

    services.delete_user(user=people["rep"], by=people["admin"])

    export = AuditEntry.objects.get(pk=history[2].pk)
    assert (export.actor, export.actor_label) == (None, "rep")
    assert only(Action.USER_DELETED).target_label == "rep"
