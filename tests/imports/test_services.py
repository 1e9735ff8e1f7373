"""The service interface the import page builds on: preview, suggested mapping, kinds."""

import pytest

from contacts.models import Company
from imports import services
from tests.factories import DealFactory
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


def test_undo_refuses_to_delete_a_company_a_newer_deal_uses(
    manager, team_a, upload, commit, api_for
):
    batch = upload(manager, "contacts", "First name,Company\nAnn,Newco\n").json()
    commit(manager, batch["id"])
    DealFactory(owner=manager, company=Company.objects.get(name="Newco"))

    answer = api_for(manager).post(f"/api/imports/{batch['id']}/undo/")

    assert answer.status_code == 409
    assert answer.json()["records"][0]["name"] == "Newco (now used by another deal)"
    assert Company.objects.filter(name="Newco").exists()
