"""The import page /import/ as a user goes through it: upload, map the columns, see every row
checked, import, undo; and what it refuses."""

import os
import re
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Lead
from imports import parsing, services, staging
from imports.models import Import
from tests.clients import htmx_post, signed_in

pytestmark = pytest.mark.django_db

# "E-mail address" and "Company" name no field: the user maps them.
LEADS = (
    "First name,Last name,E-mail address,Company\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines\n"
    "Grace,Hopper,grace@example.com,US Navy\n"
)
MAPPING = {"map-0": "first_name", "map-1": "last_name", "map-2": "email", "map-3": "company_name"}


def csv_upload(text, name="leads.csv"):
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def upload(client, text=LEADS, kind="leads", name="leads.csv", **form):
    data = {"kind": kind, "file": csv_upload(text, name), "on_duplicate": "skip", **form}
    return htmx_post(client, "/import/", data)


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.text).group(1)


def selected(response, index):
    select = re.search(rf'<select id="map-{index}".*?</select>', response.text, re.S).group(0)
    found = re.search(r'<option value="(\w*)" selected>', select)
    return found.group(1) if found else ""


def check(client, token, mapping=MAPPING):
    return htmx_post(client, "/import/check/", {"token": token, **mapping})


def test_a_rep_imports_leads_mapping_a_column_then_undoes_them(rep, team_a):
    client = signed_in(rep)
    assert "Recent imports" in client.get("/import/").text

    mapping_step = upload(client)
    assert mapping_step.status_code == 200
    assert "Map the columns of “leads.csv”" in mapping_step.text
    assert selected(mapping_step, 0) == "first_name"  # a header naming its field maps itself
    assert selected(mapping_step, 2) == ""  # "E-mail address" waits for the user
    assert "Ada" in mapping_step.text
    assert "grace@example.com" in mapping_step.text
    token = token_of(mapping_step)

    preview = htmx_post(client, "/import/mapping/", {"token": token, **MAPPING})
    assert 'id="mapping-preview"' in preview.text
    assert '<span class="to">E-mail</span><span class="from">E-mail address</span>' in preview.text

    checked = check(client, token)
    assert checked.status_code == 200
    batch = Import.objects.get()
    assert batch.status == "ready"
    assert batch.valid_rows == 2
    assert "Import valid rows only (2)" in checked.text
    assert Lead.objects.count() == 0  # nothing written before the import

    done = htmx_post(client, f"/import/{batch.pk}/commit/", {"mode": "valid_rows", "token": token})
    assert "<strong>2</strong> created" in done.text
    assert 'href="/leads/"' in done.text
    leads = Lead.objects.order_by("email")
    assert [(lead.email, lead.company_name, lead.owner) for lead in leads] == [
        ("ada@example.com", "Analytical Engines", rep),
        ("grace@example.com", "US Navy", rep),
    ]
    assert "Ada" in client.get("/leads/").text
    assert default_storage.listdir(staging.FOLDER)[1] == []  # the staged upload is gone

    undone = htmx_post(client, f"/import/{batch.pk}/undo/", {})
    assert undone.status_code == 200
    assert "This import was undone" in undone.text
    assert not Lead.objects.exists()


def test_the_chosen_mapping_is_offered_again_for_the_next_file(rep, team_a):
    client = signed_in(rep)
    check(client, token_of(upload(client)))
    again = upload(client)
    assert selected(again, 2) == "email"
    assert selected(again, 3) == "company_name"


def test_a_mapping_missing_a_required_field_is_refused_with_the_engines_message(manager, team_a):
    client = signed_in(manager)
    step = upload(client, "Deal name,Amount\nBig one,100\n", kind="deals")
    assert "Required, not mapped yet: Title" in step.text
    refused = check(client, token_of(step), {"map-0": "", "map-1": "amount"})
    assert refused.status_code == 422
    assert "The file has no column for the required field: Title." in refused.text
    assert not Import.objects.exists()


def test_a_bad_file_shows_each_bad_row_and_all_or_nothing_writes_nothing(rep, team_a):
    client = signed_in(rep)
    text = LEADS + "Alan,Turing,not-an-address,Bletchley\n"
    checked = check(client, token_of(upload(client, text)))
    batch = Import.objects.get()
    assert (batch.valid_rows, batch.error_rows) == (2, 1)
    row = re.search(r'<td class="num">4</td><td>E-mail address</td><td>([^<]+)</td>', checked.text)
    assert row, checked.text
    assert f'href="/import/{batch.pk}/errors.csv"' in checked.text

    report = client.get(f"/import/{batch.pk}/errors.csv")
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,message"
    assert lines[1].startswith("4,E-mail address,")

    refused = htmx_post(client, f"/import/{batch.pk}/commit/", {"mode": "all_or_nothing"})
    assert refused.status_code == 422
    assert "1 row has errors, so nothing was imported (all or nothing)" in refused.text
    assert not Lead.objects.exists()


def test_a_file_with_no_valid_row_cannot_be_imported(rep, team_a):
    client = signed_in(rep)
    step = upload(client, "First name,E-mail address\nAda,nope\n")
    checked = check(client, token_of(step), {"map-0": "first_name", "map-1": "email"})
    assert Import.objects.get().valid_rows == 0
    buttons = re.findall(r'<button type="submit" name="mode"[^>]*>', checked.text)
    assert len(buttons) == 2
    assert all("disabled" in button for button in buttons)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("a,b\n1,2\n", "leads.xlsx", "“leads.xlsx” is not a CSV file."),
        ("", "leads.csv", "The submitted file is empty."),
        (b"First name\nAd\xe9\n", "leads.csv", "the file is not UTF-8 text"),
        ("\n\n", "leads.csv", "The file is empty or has no header row."),
    ],
)
def test_a_file_that_cannot_be_read_is_a_form_error(rep, team_a, content, name, message):
    response = upload(signed_in(rep), content, name=name)
    assert response.status_code == 422
    assert message in response.text
    assert 'id="id_file"' in response.text  # the upload form again, to choose another file


def test_a_file_over_the_size_limit_is_refused_with_the_limit(rep, team_a, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_FILE_BYTES", 2 * 2**20)
    response = upload(signed_in(rep), LEADS + "x" * (2 * 2**20))
    assert response.status_code == 422
    assert "The file is too large: an import accepts at most 2 MB." in response.text


def test_a_rep_may_choose_only_leads_and_contacts(rep, team_a):
    client = signed_in(rep)
    page = client.get("/import/").text
    options = re.findall(
        r'<option value="(\w+)"', re.search(r'<select name="kind".*?</select>', page, re.S).group(0)
    )
    assert options == ["contacts", "leads"]
    for kind in ("deals", "companies"):
        refused = upload(client, "Title\nBig one\n", kind=kind)
        assert refused.status_code == 422
        assert "Select a valid choice." in refused.text
    assert not Import.objects.exists()


def test_a_manager_may_choose_every_kind(manager, team_a):
    page = signed_in(manager).get("/import/").text
    for kind in ("companies", "contacts", "leads", "deals"):
        assert f'<option value="{kind}"' in page


def test_the_nav_shows_import_only_to_those_who_may_import(rep, team_a, monkeypatch):
    client = signed_in(rep)
    assert '<a href="/import/"' in client.get("/leads/").text
    monkeypatch.setattr(services, "importable_kinds", lambda by: [])
    assert '<a href="/import/"' not in client.get("/leads/").text
    assert client.get("/import/").status_code == 404


def test_the_page_needs_a_login(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_posts_without_the_csrf_token_are_refused(rep, team_a):
    client = signed_in(rep)
    check(client, token_of(upload(client)))
    batch = Import.objects.get()
    guarded = signed_in(rep, enforce_csrf_checks=True)
    assert upload(guarded).status_code == 403
    refused = guarded.post(f"/import/{batch.pk}/commit/", {"mode": "valid_rows"})
    assert refused.status_code == 403
    assert not Lead.objects.exists()


def test_someone_elses_upload_token_is_refused(rep, teammate, team_a):
    token = token_of(upload(signed_in(rep)))
    refused = check(signed_in(teammate), token)
    assert refused.status_code == 422
    assert "This upload has expired or is not yours" in refused.text
    assert not Import.objects.exists()


def test_another_users_import_is_out_of_sight(rep, teammate, team_a):
    client = signed_in(rep)
    check(client, token_of(upload(client)))
    batch = Import.objects.get()
    other = signed_in(teammate)
    assert other.get(f"/import/{batch.pk}/").status_code == 404
    assert (
        htmx_post(other, f"/import/{batch.pk}/commit/", {"mode": "valid_rows"}).status_code == 404
    )
    assert "leads.csv" not in other.get("/import/").text


def test_undo_is_refused_naming_the_lead_changed_since(rep, team_a):
    client = signed_in(rep)
    check(client, token_of(upload(client)))
    batch = Import.objects.get()
    htmx_post(client, f"/import/{batch.pk}/commit/", {"mode": "valid_rows"})
    Lead.objects.filter(email="ada@example.com").update(first_name="Augusta")
    refused = htmx_post(client, f"/import/{batch.pk}/undo/", {})
    assert refused.status_code == 409
    assert "nothing was undone" in refused.text
    assert "Augusta Lovelace" in refused.text
    assert Lead.objects.count() == 2


def test_a_large_file_shows_a_progress_bar_that_stops_polling_when_checked(
    rep, team_a, monkeypatch
):
    monkeypatch.setattr(services, "INLINE_ROWS", 1)  # so two rows go to Celery
    client = signed_in(rep)
    waiting = check(client, token_of(upload(client)))
    batch = Import.objects.get()
    assert batch.status == "validating"
    assert 'hx-trigger="every 1s"' in waiting.text
    assert "<progress" in waiting.text

    services.run_validation(import_id=batch.pk)  # what the Celery task does
    polled = client.get(f"/import/{batch.pk}/", HTTP_HX_REQUEST="true")
    assert "every 1s" not in polled.text
    assert "Import valid rows only (2)" in polled.text
    assert "imports-changed" in polled["HX-Trigger"]


def test_recent_imports_list_the_users_imports_with_undo_where_allowed(rep, team_a):
    client = signed_in(rep)
    check(client, token_of(upload(client)))
    batch = Import.objects.get()
    htmx_post(client, f"/import/{batch.pk}/commit/", {"mode": "valid_rows"})
    recent = client.get("/import/recent/", HTTP_HX_REQUEST="true").text
    assert "leads.csv" in recent
    assert "Done" in recent
    assert f'hx-post="/import/{batch.pk}/undo/"' in recent


def test_the_steps_work_as_plain_pages_without_javascript(rep, team_a):
    client = signed_in(rep)
    step = client.post(
        "/import/", {"kind": "leads", "file": csv_upload(LEADS), "on_duplicate": "skip"}
    )
    assert "<html" in step.text
    assert "Map the columns" in step.text
    checked = client.post("/import/check/", {"token": token_of(step), **MAPPING})
    assert "<html" in checked.text
    assert "Import valid rows only (2)" in checked.text


def test_a_file_unreadable_further_down_fails_naming_the_row(rep, team_a):
    client = signed_in(rep)
    good = "".join(f"Lead,{n},lead{n}@example.com,Co {n}\n" for n in range(5))
    text = (LEADS + good).encode() + b"Al\xe9n,Turing,alan@example.com,Bletchley\n"
    failed = check(client, token_of(upload(client, text)))
    assert Import.objects.get().status == "failed"
    assert "Row 9: the file is not UTF-8 text (byte 0xe9)." in failed.text
    assert "Import valid rows only" not in failed.text


def test_committing_twice_says_why_and_writes_once(rep, team_a):
    client = signed_in(rep)
    check(client, token_of(upload(client)))
    batch = Import.objects.get()
    htmx_post(client, f"/import/{batch.pk}/commit/", {"mode": "valid_rows"})
    again = htmx_post(client, f"/import/{batch.pk}/commit/", {"mode": "valid_rows"})
    assert again.status_code == 422
    assert "This import cannot be committed: it is done." in again.text
    assert Lead.objects.count() == 2


def test_the_upload_offers_the_kind_last_imported(manager, team_a):
    client = signed_in(manager)
    assert '<option value="leads" selected>' in client.get("/import/").text
    step = upload(client, "Name,Domain\nAcme,acme.example\n", kind="companies")
    check(client, token_of(step), {"map-0": "name", "map-1": "domain"})
    assert '<option value="companies" selected>' in client.get("/import/").text


def test_uploads_left_behind_for_a_day_are_swept_by_the_next_upload(rep, team_a):
    old = default_storage.save(f"{staging.FOLDER}/abandoned.csv", ContentFile(b"a,b\n"))
    day_ago = time.time() - 25 * 3600
    os.utime(default_storage.path(old), (day_ago, day_ago))
    upload(signed_in(rep))
    staged = default_storage.listdir(staging.FOLDER)[1]
    assert "abandoned.csv" not in staged
    assert len(staged) == 1  # this upload's own
