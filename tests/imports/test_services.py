"""The service interface the import page builds on: preview, suggested mapping, kinds."""

import pytest
from django.test import Client

from contacts.models import Company, Contact
from imports import services
from tests.factories import ActivityFactory, DealFactory
from tests.imports.conftest import csv_file

pytestmark = pytest.mark.django_db


def test_preview_shows_the_header_and_first_rows_of_an_upload_without_storing_it(rep):
    text = '\ufeffName;E-mail\nAnn;ann@example.com\n"Bob\nBobson";bob@example.com\nCid;c@x.io\n'

    shown = services.preview(upload=csv_file(text), rows=2)

    assert shown.headers == ["Name", "E-mail"]
    assert shown.rows == [["Ann", "ann@example.com"], ["Bob\nBobson", "bob@example.com"]]


def test_suggested_mapping_matches_headers_naming_fields_by_name_or_label(manager):
    headers = ["Title", "Expected close date", "contact-email", "Notes"]

    assert services.suggested_mapping(by=manager, kind="deals", headers=headers) == {
        "Title": "title",
        "Expected close date": "expected_close_date",
        "contact-email": "contact_email",
    }


def test_reps_are_offered_leads_and_contacts_managers_everything(rep, manager):
    assert services.importable_kinds(rep) == ["contacts", "leads"]
    assert services.importable_kinds(manager) == ["companies", "contacts", "leads", "deals"]
    assert [f.name for f in services.fields("companies") if f.required] == ["name"]


def test_an_admin_sees_imports_in_the_admin_read_only(admin_user, rep, upload):
    upload(rep, "leads", "E-mail\na@example.com\n")
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(admin_user)

    page = client.get("/admin/imports/import/")

    assert page.status_code == 200
    assert "leads" in page.content.decode()
    assert client.get("/admin/imports/import/add/").status_code == 403


@pytest.mark.parametrize(
    ("text", "added_since", "named"),
    [
        (
            "First name,Company\nAnn,Newco\n",
            lambda by: DealFactory(owner=by, company=Company.objects.get(name="Newco")),
            "Newco (now used by a deal)",
        ),
        (
            "First name,Last name\nAnn,Lee\n",
            lambda by: ActivityFactory(owner=by, contact=Contact.objects.get(first_name="Ann")),
            "Ann Lee (now used by an activity)",
        ),
    ],
)
def test_undo_refuses_to_delete_what_a_record_added_since_uses(
    text, added_since, named, manager, team_a, upload, commit, api_for
):
    batch = upload(manager, "contacts", text).json()
    commit(manager, batch["id"])
    added_since(manager)

    answer = api_for(manager).post(f"/api/imports/{batch['id']}/undo/")

    assert answer.status_code == 409
    assert answer.json()["records"][0]["name"] == named
    assert Contact.objects.filter(first_name="Ann").exists()
