"""POST /api/imports/ → commit → undo, as SPEC §9 describes it."""

import datetime as dt
from decimal import Decimal

import pytest

from contacts.models import Company, Contact, Lead
from deals.models import ColumnTotal, Deal, StageChange
from deals.services import update_deal
from imports.models import Import
from imports.parsing import MAX_FILE_BYTES
from tests.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db

DEALS = (
    "\ufeffTitle;Amount;Stage;Owner;Company;Contact;Contact e-mail;Expected close date\n"
    '"Acme, renewal";"12.500,00";Negotiation;rep;Acme;Ann Lee;ann@acme.example;45474\n'
    '"Beta\nexpansion";1 200;;rep@example.com;Beta;Bob Stone;;15/08/2024\n'
    "Gamma pilot;;;;Acme;;ann@acme.example;\n"
)


def test_a_good_deals_file_imports_exactly_its_rows(manager, rep, team_a, upload, commit):
    existing = DealFactory(owner=rep, title="Already here")
    acme = CompanyFactory(name="ACME", owner=rep)

    body = upload(manager, "deals", DEALS).json()
    assert (body["status"], body["total_rows"], body["valid_rows"], body["errors"]) == (
        "ready",
        3,
        3,
        [],
    )
    assert Deal.objects.count() == 1  # nothing written before the commit
    done = commit(manager, body["id"]).json()

    assert (done["status"], done["created"], done["progress"]) == ("done", 3, 100)
    deals = {d.title: d for d in Deal.objects.exclude(pk=existing.pk)}
    assert set(deals) == {"Acme, renewal", "Beta\nexpansion", "Gamma pilot"}
    renewal = deals["Acme, renewal"]
    assert renewal.amount == Decimal("12500.00")
    assert renewal.expected_close_date == dt.date(2024, 7, 1)
    assert renewal.stage.name == "Negotiation"
    assert renewal.owner == rep
    assert renewal.company == acme  # found by name, any case
    assert renewal.contact.email == "ann@acme.example"
    assert deals["Gamma pilot"].contact == renewal.contact  # the same contact, not a second one
    assert deals["Gamma pilot"].owner == manager  # no owner: the importer
    assert deals["Beta\nexpansion"].company.name == "Beta"
    assert deals["Beta\nexpansion"].contact.first_name == "Bob"
    assert StageChange.objects.filter(deal__in=deals.values()).count() == 3
    # The board's column totals (PostgreSQL triggers) count the imported deals.
    totals = ColumnTotal.objects.filter(stage=renewal.stage, owner=rep)
    assert sum(t.deals for t in totals) == 1


def test_undo_removes_exactly_what_the_import_created(
    manager, rep, team_a, upload, commit, api_for
):
    existing = DealFactory(owner=rep)
    acme = CompanyFactory(name="Acme", owner=rep)
    batch = upload(manager, "deals", DEALS).json()
    commit(manager, batch["id"])

    answer = api_for(manager).post(f"/api/imports/{batch['id']}/undo/")

    assert answer.status_code == 200
    assert answer.json()["status"] == "undone"
    assert list(Deal.objects.all()) == [existing]
    assert list(Company.objects.all()) == [acme]
    assert not Contact.objects.filter(email="ann@acme.example").exists()
    assert ColumnTotal.objects.filter(owner=rep).exclude(deals=0).count() == 1


def test_undo_refuses_with_409_naming_a_deal_changed_since(
    manager, team_a, upload, commit, api_for
):
    batch = upload(manager, "deals", DEALS).json()
    commit(manager, batch["id"])
    edited = Deal.objects.get(title="Gamma pilot")
    update_deal(deal=edited, by=manager, changes={"next_step": "Call Ann"})

    answer = api_for(manager).post(f"/api/imports/{batch['id']}/undo/")

    assert answer.status_code == 409
    body = answer.json()
    assert body["records"] == [{"type": "deal", "id": edited.pk, "name": "Gamma pilot"}]
    assert "changed since the import" in body["detail"]
    assert Deal.objects.count() == 3


def test_update_mode_updates_duplicates_and_undo_restores_them(
    manager, rep, team_a, upload, commit, api_for
):
    ann = ContactFactory(first_name="Ann", email="ann@example.com", phone="111", owner=rep)
    text = "First name,E-mail,Phone,Job title\nAnn,ANN@example.com,222,CTO\nCid,cid@example.com,,\n"

    body = upload(manager, "contacts", text, on_duplicate="update").json()
    done = commit(manager, body["id"]).json()

    assert (done["created"], done["updated"], done["skipped"]) == (1, 1, 0)
    ann.refresh_from_db()
    assert (ann.phone, ann.title, ann.email) == ("222", "CTO", "ANN@example.com")
    api_for(manager).post(f"/api/imports/{body['id']}/undo/")
    ann.refresh_from_db()
    assert (ann.phone, ann.title, ann.email) == ("111", "", "ann@example.com")
    assert list(Contact.objects.all()) == [ann]


def test_undo_refuses_when_an_updated_record_changed_since(
    manager, rep, team_a, upload, commit, api_for
):
    ann = ContactFactory(first_name="Ann", email="ann@example.com", phone="111", owner=rep)
    body = upload(manager, "contacts", "First name,E-mail,Phone\nAnn,ann@example.com,222\n",
                  on_duplicate="update").json()  # fmt: skip
    commit(manager, body["id"])
    Contact.objects.filter(pk=ann.pk).update(phone="333")

    answer = api_for(manager).post(f"/api/imports/{body['id']}/undo/")

    assert answer.status_code == 409
    assert answer.json()["records"] == [
        {"type": "contact", "id": ann.pk, "name": "Ann " + ann.last_name}
    ]
    ann.refresh_from_db()
    assert ann.phone == "333"


def test_skip_mode_leaves_duplicates_alone(manager, rep, team_a, upload, commit):
    CompanyFactory(name="Acme", domain="acme.example", industry="Old", owner=rep)
    text = "Name,Domain,Industry\nAcme Inc,https://www.ACME.example/about,New\nBeta,beta.example,\n"

    done = commit(manager, upload(manager, "companies", text).json()["id"]).json()

    assert (done["created"], done["updated"], done["skipped"]) == (1, 0, 1)
    assert Company.objects.get(domain="acme.example").industry == "Old"


def test_a_rep_cannot_import_records_for_an_outsider(rep, outsider, people, upload, commit):
    text = (
        "First name,E-mail,Owner\nMine,mine@example.com,rep\nTheirs,theirs@example.com,outsider\n"
    )

    body = upload(rep, "leads", text).json()

    assert body["errors"] == [
        {
            "row": 3,
            "column": "Owner",
            "message": "You cannot give records to “outsider”: they are outside your reach.",
        }
    ]
    done = commit(rep, body["id"]).json()
    assert done["created"] == 1
    assert list(Lead.objects.values_list("email", "owner__username", "source")) == [
        ("mine@example.com", "rep", "import")
    ]


def test_a_rep_cannot_update_a_record_outside_their_reach(rep, outsider, people, upload):
    ContactFactory(first_name="Zed", email="zed@example.com", owner=outsider)

    body = upload(rep, "contacts", "First name,E-mail\nZed,zed@example.com\n",
                  on_duplicate="update").json()  # fmt: skip

    assert body["errors"][0]["message"] == (
        "The contact with this e-mail belongs to someone outside your reach: you cannot update it."
    )


@pytest.mark.parametrize("kind", ["deals", "companies"])
def test_a_rep_may_import_only_leads_and_contacts(kind, rep, team_a, upload):
    answer = upload(rep, kind, "Title,Name\nx,y\n")

    assert answer.status_code == 403


def test_a_lead_out_of_the_reps_sight_is_no_duplicate(rep, outsider, people, upload, commit):
    LeadFactory(email="same@example.com", owner=outsider)

    done = commit(rep, upload(rep, "leads", "E-mail\nsame@example.com\n").json()["id"]).json()

    assert (done["created"], done["skipped"]) == (1, 0)


def test_over_50_mb_answers_413_with_the_limit(manager, team_a, upload):
    huge = "Title\n" + ("a" * 99 + "\n") * (MAX_FILE_BYTES // 100 + 1)

    answer = upload(manager, "deals", huge)

    assert answer.status_code == 413
    assert answer.json()["detail"] == "The file is too large: an import accepts at most 50 MB."
    assert not Import.objects.exists()


def test_over_500000_rows_answers_413_with_the_limit(manager, team_a, upload):
    answer = upload(manager, "deals", "Title\n" + "a\n" * 500_001)

    assert answer.status_code == 413
    assert answer.json()["detail"] == (
        "The file has too many rows: an import accepts at most 500,000 rows."
    )


def test_a_body_over_the_import_limit_is_refused_before_it_is_read(manager, api_for):
    answer = api_for(manager).generic(
        "POST", "/api/imports/", b"", CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(60 * 1024 * 1024),
    )  # fmt: skip

    assert answer.status_code == 413
    assert answer.json()["detail"] == (
        "The request body is too large: this server accepts at most 51 MB."
    )


def test_other_paths_keep_the_small_body_limit(manager, api_for, settings):
    answer = api_for(manager).generic(
        "POST", "/api/deals/", b"", CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
    )  # fmt: skip

    assert answer.status_code == 413


def test_people_see_their_own_imports_and_admins_all(
    rep, teammate, admin_user, team_a, upload, api_for
):
    mine = upload(rep, "leads", "E-mail\na@example.com\n").json()["id"]
    theirs = upload(teammate, "leads", "E-mail\nb@example.com\n").json()["id"]

    listed = api_for(rep).get("/api/imports/").json()["results"]

    assert [i["id"] for i in listed] == [mine]
    assert api_for(rep).get(f"/api/imports/{theirs}/").status_code == 404
    assert api_for(rep).get(f"/api/imports/{theirs}/errors.csv").status_code == 404
    assert (
        api_for(rep).post(f"/api/imports/{theirs}/commit/", {"mode": "valid_rows"}).status_code
        == 404
    )
    everyone = {i["id"] for i in api_for(admin_user).get("/api/imports/").json()["results"]}
    assert everyone == {mine, theirs}


def test_the_last_mapping_per_kind_is_remembered(rep, team_a, upload):
    from imports.services import suggested_mapping

    upload(rep, "leads", "Mail,Firm\na@example.com,Acme\n",
           mapping='{"Mail": "email", "Firm": "company_name"}')  # fmt: skip

    assert suggested_mapping(by=rep, kind="leads", headers=["Firm", "Mail", "Phone"]) == {
        "Firm": "company_name",
        "Mail": "email",
        "Phone": "phone",
    }


def test_a_mapping_to_an_unknown_field_is_a_clear_400(rep, team_a, upload):
    answer = upload(rep, "leads", "Mail\na@example.com\n", mapping='{"Mail": "salary"}')

    assert answer.status_code == 400
    assert answer.json()["detail"] == "“salary” is not a field of leads."


def test_commit_twice_is_refused(manager, team_a, upload, commit):
    batch = upload(manager, "deals", "Title\nOne\n").json()
    commit(manager, batch["id"])

    again = commit(manager, batch["id"])

    assert again.status_code == 400
    assert Deal.objects.count() == 1
