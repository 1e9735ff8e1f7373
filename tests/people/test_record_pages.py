"""The pages that leads, contacts and companies share (people.views with people.kinds): each
kind gets the same inline edit, activities panel and htmx answers, and its own list filters."""

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from contacts.models import Company, Contact, Lead
from followups.models import Activity
from tests.factories import CompanyFactory, ContactFactory, LeadFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx_to(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


@dataclass(frozen=True)
class Kind:
    name: str
    factory: Any
    valid: dict[str, str]  # an edit that saves
    invalid: dict[str, str]  # an edit the form rejects


KINDS = [
    Kind(
        "lead",
        LeadFactory,
        {"first_name": "Renamed", "source": "referral", "status": "new"},
        {"first_name": "Renamed", "email": "nope", "source": "referral", "status": "new"},
    ),
    Kind("contact", ContactFactory, {"first_name": "Renamed"}, {"first_name": ""}),
    Kind("company", CompanyFactory, {"name": "Renamed"}, {"name": "  "}),
]
BY_NAME = {kind.name: kind for kind in KINDS}


@pytest.fixture
def as_rep(client, rep, people):
    client.force_login(rep)
    return client


def toast_of(response) -> dict[str, str]:
    return json.loads(response["HX-Trigger"])["toast"]


def record_of(kind: Kind, owner, **fields):
    if kind.name == "contact":
        fields.setdefault("company", None)
    return kind.factory(owner=owner, **fields)


def edit_data(kind: Kind, record, changes: dict[str, str]) -> dict[str, str]:
    data = {"owner": str(record.owner_id), **changes}
    if kind.name == "contact":
        data["email"] = record.email
    return data


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_swaps_its_edit_form_in_and_cancel_brings_the_card_back(as_rep, rep, kind):
    record = record_of(kind, rep)
    edit_url = reverse(f"{kind.name}-edit", args=[record.pk])

    form = as_rep.get(edit_url, **htmx_to("record-card"))
    card = as_rep.get(reverse(f"{kind.name}-detail", args=[record.pk]), **htmx_to("record-card"))

    assert form.content.decode().lstrip().startswith('<section class="card record-card editing"')
    assert f'hx-post="{edit_url}"' in form.content.decode()
    assert card.content.decode().lstrip().startswith('<section class="card record-card"')
    assert f'hx-get="{edit_url}"' in card.content.decode()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_saved_inline_edit_swaps_the_card_and_says_so_in_a_toast(as_rep, rep, kind):
    record = record_of(kind, rep)
    url = reverse(f"{kind.name}-edit", args=[record.pk])

    response = as_rep.post(url, edit_data(kind, record, kind.valid), **HTMX)

    assert response.status_code == 200
    assert "Renamed" in response.content.decode()
    assert toast_of(response)["level"] == "success"
    assert toast_of(response)["message"].startswith("Saved Renamed")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_rejected_inline_edit_is_a_422_swapped_into_the_card(as_rep, rep, kind):
    record = record_of(kind, rep)
    url = reverse(f"{kind.name}-edit", args=[record.pk])

    response = as_rep.post(url, edit_data(kind, record, kind.invalid), **HTMX)

    assert response.status_code == 422
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#record-card", "outerHTML")
    assert 'class="field-error"' in response.content.decode()
    assert str(record.__class__.objects.get(pk=record.pk)) == str(record)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_refused_inline_edit_under_htmx_is_a_toast_not_a_page(as_rep, teammate, kind):
    record = record_of(kind, teammate)  # the rep reads a teammate's records, never writes them

    response = as_rep.get(reverse(f"{kind.name}-edit", args=[record.pk]), **htmx_to("record-card"))

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert toast_of(response)["message"] == f"You may view this {kind.name} but not change it."


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_logging_an_activity_swaps_the_panel_and_says_so_in_a_toast(as_rep, rep, kind):
    record = record_of(kind, rep)
    response = as_rep.post(
        reverse(f"{kind.name}-activity", args=[record.pk]),
        {"kind": "call", "subject": "Checked in"},
        **htmx_to("activities"),
    )

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section class="card" id="activities">')
    assert "Checked in" in response.content.decode()
    assert toast_of(response) == {"message": "Activity saved.", "level": "success"}
    assert Activity.objects.get(**{kind.name: record}).done_at is not None


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_rejected_activity_is_a_422_swapped_into_the_panel(as_rep, rep, kind):
    record = record_of(kind, rep)
    response = as_rep.post(
        reverse(f"{kind.name}-activity", args=[record.pk]),
        {"kind": "call", "subject": ""},
        **htmx_to("activities"),
    )

    assert response.status_code == 422
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#activities", "outerHTML")
    assert "field-error" in response.content.decode()
    assert not Activity.objects.exists()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_planned_activity_is_marked_done_from_every_kind_of_record(as_rep, rep, kind):
    record = record_of(kind, rep)
    other = record_of(kind, rep)
    planned = Activity.objects.create(
        kind="task", subject="Later", owner=rep, **{kind.name: record}
    )
    elsewhere = Activity.objects.create(kind="task", subject="X", owner=rep, **{kind.name: other})
    done_url = reverse(f"{kind.name}-activity-done", args=[record.pk, planned.pk])

    response = as_rep.post(done_url, **htmx_to("activities"))
    wrong_record = as_rep.post(
        reverse(f"{kind.name}-activity-done", args=[record.pk, elsewhere.pk])
    )

    planned.refresh_from_db()
    assert response.status_code == 200
    assert planned.done_at is not None
    assert toast_of(response)["message"] == "“Later” done."
    assert wrong_record.status_code == 404


def test_without_htmx_a_saved_activity_comes_back_as_a_message_on_the_page(as_rep, rep):
    company = CompanyFactory(owner=rep)
    url = reverse("company-activity", args=[company.pk])

    response = as_rep.post(url, {"kind": "note", "subject": "Met them"})

    assert response.status_code == 302
    assert response["Location"] == reverse("company-detail", args=[company.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Activity saved."]
    assert "HX-Trigger" not in response


@pytest.mark.parametrize(
    ("name", "model", "message"),
    [
        ("lead", Lead, "Lead {} deleted."),
        ("contact", Contact, "Contact {} deleted."),
        ("company", Company, "Company {} deleted; its contacts and deals remain."),
    ],
)
def test_deleting_goes_back_to_the_kinds_list_with_its_message(as_rep, rep, name, model, message):
    record = record_of(BY_NAME[name], rep)

    response = as_rep.post(reverse(f"{name}-delete", args=[record.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse(model._meta.verbose_name_plural)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [message.format(record)]
    assert not model.objects.filter(pk=record.pk).exists()


def test_only_the_leads_list_offers_filters_beside_search_and_sort(as_rep):
    leads = as_rep.get(reverse("leads"), {"q": "x"}).content.decode()
    contacts = as_rep.get(reverse("contacts"), {"q": "x"}).content.decode()
    companies = as_rep.get(reverse("companies"), {"q": "x"}).content.decode()

    for select in ("status", "source", "owner", "sort"):
        assert f'<select name="{select}"' in leads
    assert contacts.count("<select ") == companies.count("<select ") == 1
    assert 'id="lead-q"' in leads
    assert 'id="contact-q"' in contacts
    assert 'id="company-q"' in companies
    assert "No leads match these filters." in leads
    assert "clear filters" in leads
    assert "No contacts match. " in contacts
    assert "clear search" in companies


@pytest.mark.parametrize(("name", "plural"), [("lead", "leads"), ("company", "companies")])
def test_the_result_count_names_the_kind_in_the_singular_for_one(as_rep, rep, name, plural):
    record_of(BY_NAME[name], rep)
    page = as_rep.get(reverse(plural)).content.decode()
    assert re.search(rf"\b1 {name}\s", page)
    assert f"1 {plural}" not in page


def test_the_new_record_page_is_titled_after_its_kind(as_rep):
    page = as_rep.get(reverse("company-create")).content.decode()
    assert "<h1>New company</h1>" in page
    assert f'href="{reverse("companies")}">Cancel</a>' in page
