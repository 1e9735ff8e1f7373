"""What the services' events leave in the audit log: changes to who may do what, API tokens,
CSV downloads (pages and API), imports and merges; each with who, from where, and on what."""

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts import two_factor
from accounts.models import Team
from audit.models import Action, AuditEntry
from contacts.events import RecordsMerged
from pipeline_crm.errors import DomainError
from pipeline_crm.events import announce
from tests.accounts.two_factor_helpers import enrol, next_code
from tests.audit.conftest import CLIENT_IP, logged, only
from tests.factories import PASSWORD, DealFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_role_change_on_the_settings_page_names_who_whom_and_the_roles(
    rep, admin_user, signed_in
):
    client = signed_in(admin_user)
    form = {"edit-first_name": "R", "edit-last_name": "Ep", "edit-role": "manager"}

    client.post(reverse("user-edit", args=[rep.pk]), form)

    entry = only(Action.ROLE_CHANGED)
    assert (entry.actor, entry.target_label, entry.ip) == (admin_user, "rep", CLIENT_IP)
    assert entry.details == {"from": "rep", "to": "manager"}


def test_saving_a_user_without_changing_the_role_records_no_role_change(rep, admin_user):
    accounts.update_user(user=rep, by=admin_user, changes={"first_name": "Renamed", "role": "rep"})

    assert not logged(Action.ROLE_CHANGED)


def test_making_someone_superuser_is_a_role_change_to_admin(rep, admin_user):
    accounts.update_user(user=rep, by=admin_user, changes={"is_superuser": True})

    assert only(Action.ROLE_CHANGED).details == {"from": "rep", "to": "admin"}


def test_deactivation_reactivation_and_the_token_that_dies_with_it(rep, manager, admin_user):
    accounts.issue_api_token(user=rep)

    accounts.deactivate_user(user=rep, by=admin_user, reassign_to=manager)
    accounts.reactivate_user(user=rep, by=admin_user)

    deactivated = only(Action.USER_DEACTIVATED)
    assert (deactivated.actor, deactivated.target_label) == (admin_user, "rep")
    assert deactivated.details == {"work_to": "manager"}
    assert only(Action.USER_REACTIVATED).target_label == "rep"
    revoked = only(Action.TOKEN_REVOKED)
    assert (revoked.actor, revoked.target_label) == (admin_user, "rep")


def test_revoking_ones_own_token_on_the_settings_page_is_recorded(rep, signed_in):
    accounts.issue_api_token(user=rep)

    signed_in(rep).post(reverse("my-api-token-revoke"))
    signed_in(rep).post(reverse("my-api-token-revoke"))  # none left: nothing more to record

    revoked = only(Action.TOKEN_REVOKED)
    assert (revoked.actor, revoked.target_label, revoked.ip) == (rep, "rep", CLIENT_IP)


def test_team_manager_changes_list_who_came_and_went(people, admin_user):
    team = Team.objects.get(name="Team A")

    accounts.update_team(team=team, by=admin_user, changes={"managers": [people["other_manager"]]})
    accounts.update_team(team=team, by=admin_user, changes={"name": "Team A2"})

    entry = only(Action.TEAM_MANAGERS_CHANGED)
    assert (entry.target_type, entry.target_id) == ("team", str(team.pk))
    assert entry.details == {"added": ["other_manager"], "removed": ["manager"]}


def test_users_created_invited_and_deleted_by_an_admin(admin_user):
    made = accounts.create_user(by=admin_user, username="newbie", password=PASSWORD)
    made_id = made.pk
    accounts.invite_user(by=admin_user, email="guest@example.com", role="manager")
    accounts.delete_user(user=made, by=admin_user)

    assert only(Action.USER_CREATED).details == {"role": "rep"}
    assert only(Action.USER_INVITED).details == {"email": "guest@example.com", "role": "manager"}
    deleted = only(Action.USER_DELETED)
    assert (deleted.target_id, deleted.target_label) == (str(made_id), "newbie")
    # The entries about the deleted user keep their name.
    assert only(Action.USER_CREATED).target_label == "newbie"


def test_a_role_change_that_rolls_back_leaves_no_entry(rep, admin_user):
    def change_then_fail():
        with transaction.atomic():
            accounts.update_user(user=rep, by=admin_user, changes={"role": "manager"})
            raise RuntimeError("the rest of the change failed")

    with pytest.raises(RuntimeError):
        change_then_fail()

    rep.refresh_from_db()
    assert rep.role == "rep"
    assert not AuditEntry.objects.exists()


def test_a_page_csv_download_records_who_which_list_and_the_filters(rep, signed_in):
    DealFactory(owner=rep)

    response = signed_in(rep).get(reverse("deal-list"), {"format": "csv", "status": "open"})

    assert response.status_code == 200
    entry = only(Action.EXPORT)
    assert (entry.actor, entry.ip, entry.target_type) == (rep, CLIENT_IP, "csv")
    assert entry.target_label == "deals"
    assert entry.details == {"path": reverse("deal-list"), "filters": {"status": "open"}}


def test_an_api_csv_list_and_a_record_read_as_csv_are_recorded(rep):
    deal = DealFactory(owner=rep)
    client = APIClient(REMOTE_ADDR=CLIENT_IP)
    client.force_authenticate(rep)

    client.get("/api/deals/", {"format": "csv", "owner": rep.pk})
    client.get(f"/api/deals/{deal.pk}/", HTTP_ACCEPT="text/csv")
    client.get("/api/deals/")  # JSON: no export

    listed, record = logged(Action.EXPORT)
    assert (listed.actor, listed.ip, listed.target_label) == (rep, CLIENT_IP, "deals")
    assert listed.details == {"path": "/api/deals/", "filters": {"owner": str(rep.pk)}}
    assert (record.target_label, record.details["path"]) == ("deal", f"/api/deals/{deal.pk}/")


def test_a_refused_csv_request_is_no_export(rep, signed_in):
    refused = signed_in(rep).get(reverse("forecast-quotas"), {"format": "csv"})
    anonymous = APIClient().get("/api/deals/", {"format": "csv"})

    assert (refused.status_code, anonymous.status_code) == (403, 401)

    assert not logged(Action.EXPORT)


def test_a_forecast_table_download_is_recorded(manager, signed_in):
    signed_in(manager).get(reverse("forecast-export", args=["reps"]), {"period": "quarter"})

    entry = only(Action.EXPORT)
    assert (entry.actor, entry.target_label) == (manager, "reps")
    assert entry.details["filters"] == {"period": "quarter"}


def test_an_import_committed_then_undone_by_an_admin(rep, admin_user, team_a, api_for):
    from tests.imports.conftest import csv_file

    answer = api_for(rep).post(
        "/api/imports/",
        {"file": csv_file("E-mail\na@example.com\nb@example.com\n"), "kind": "leads"},
        format="multipart",
    )
    batch = answer.json()["id"]
    api_for(rep).post(f"/api/imports/{batch}/commit/", {"mode": "valid_rows"}, format="json")
    api_for(admin_user).post(f"/api/imports/{batch}/undo/")

    committed = only(Action.IMPORT_COMMITTED)
    assert (committed.actor, committed.target_type, committed.target_id) == (
        rep,
        "import",
        str(batch),
    )
    assert committed.details == {"kind": "leads", "created": 2, "updated": 0}
    undone = only(Action.IMPORT_UNDONE)
    assert (undone.actor, undone.target_id) == (admin_user, str(batch))


def test_a_merge_announced_by_a_service_is_recorded(admin_user):
    with transaction.atomic():
        announce(
            RecordsMerged(
                kind="contact", kept_id=7, kept_label="Ann Lee", merged={8: "Ann L."}, by=admin_user
            )
        )

    entry = only(Action.RECORDS_MERGED)
    assert (entry.target_type, entry.target_id, entry.target_label) == ("contact", "7", "Ann Lee")
    assert entry.details == {"merged": {"8": "Ann L."}}


def test_work_done_outside_a_request_has_no_address(admin_user):
    accounts.update_user(user=UserFactory(role="rep"), by=admin_user, changes={"role": "manager"})

    assert only(Action.ROLE_CHANGED).ip is None


def test_tokens_made_and_deleted_in_the_django_admin_are_recorded(rep, admin_user):
    from rest_framework.authtoken.models import Token

    from tests.admin_forms import staff_client

    client = staff_client(admin_user)

    added = client.post(reverse("admin:authtoken_tokenproxy_add"), {"user": rep.pk})
    again = client.post(reverse("admin:authtoken_tokenproxy_add"), {"user": rep.pk})
    delete = reverse("admin:authtoken_tokenproxy_delete", args=[rep.pk])
    deleted = client.post(delete, {"post": "yes"})

    assert (added.status_code, again.status_code, deleted.status_code) == (302, 200, 302)
    assert not Token.objects.filter(user=rep).exists()
    created, revoked = only(Action.TOKEN_CREATED), only(Action.TOKEN_REVOKED)
    assert (created.actor, created.target_label) == (admin_user, "rep")
    assert (revoked.actor, revoked.target_label) == (admin_user, "rep")


def test_staff_who_are_not_crm_admins_cannot_make_tokens_in_the_admin(rep, manager):
    from tests.admin_forms import staff_client

    client = staff_client(manager)

    assert (
        client.post(reverse("admin:authtoken_tokenproxy_add"), {"user": rep.pk}).status_code == 403
    )
    assert not logged(Action.TOKEN_CREATED)


def test_two_factor_turned_on_renewed_off_and_reset_is_recorded(admin_user):

    other_admin = UserFactory(role="admin", username="second-admin")
    device, _ = enrol(admin_user)
    two_factor.regenerate_recovery_codes(user=admin_user, code=next_code(device))
    two_factor.disable(user=admin_user, code=next_code(device))
    enrol(admin_user)
    two_factor.reset(user=admin_user, by=other_admin)

    entries = logged(Action.TWO_FACTOR_CHANGED)
    changes = [(entry.actor, entry.target_id, entry.details["change"]) for entry in entries]
    target = str(admin_user.pk)
    assert [(actor, str(target_id), change) for actor, target_id, change in changes] == [
        (admin_user, target, "enabled"),
        (admin_user, target, "recovery_codes"),
        (admin_user, target, "disabled"),
        (admin_user, target, "enabled"),
        (other_admin, target, "reset"),
    ]


def test_a_wrong_code_changes_nothing_and_records_nothing(admin_user):

    enrol(admin_user)
    with pytest.raises(DomainError):
        two_factor.disable(user=admin_user, code="000000")

    assert [entry.details["change"] for entry in logged(Action.TWO_FACTOR_CHANGED)] == ["enabled"]
