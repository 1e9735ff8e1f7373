"""The contacts and companies pages: readable by everyone signed in, written by the owner rule
(SPEC §4); e-mail and domain unique ignoring case, as a clear form error (SPEC §3)."""

import pytest
from django.urls import reverse

from contacts.models import Company, Contact
from followups.models import Activity
from people.views import PAGE_SIZE
from tests.factories import CompanyFactory, ContactFactory, DealFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every person fixture hashes a password; the production hasher costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def as_rep(client, rep, people):
    client.force_login(rep)
    return client


@pytest.fixture
def as_outsider(client, outsider, people):
    client.force_login(outsider)
    return client


def contact_data(**overrides):
    data = {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@lee.example",
        "phone": "",
        "title": "CTO",
        "company_name": "",
        "owner": "",
    }
    data.update(overrides)
    return data


def company_data(**overrides):
    data = {"name": "Initech", "domain": "initech.example", "industry": "", "size": "", "owner": ""}
    data.update(overrides)
    return data


# --- contacts list --------------------------------------------------------------------------------


def test_every_signed_in_user_lists_every_contact(as_outsider, rep, teammate):
    ContactFactory(owner=rep, first_name="Ofrep")
    ContactFactory(owner=teammate, first_name="Ofmate")
    page = as_outsider.get(reverse("contacts")).content.decode()
    assert "Ofrep" in page
    assert "Ofmate" in page


def test_contact_search_covers_name_email_and_company(as_rep, rep):
    acme = CompanyFactory(name="Acme", owner=rep)
    ContactFactory(owner=rep, first_name="Zedqx", company=acme, email="zed@zz.example")
    ContactFactory(owner=rep, first_name="Yanqx", company=None, email="yan@yolo.example")

    def found(q):
        page = as_rep.get(reverse("contacts"), {"q": q}).content.decode()
        return {n for n in ("Zedqx", "Yanqx") if n in page}

    assert found("acme") == {"Zedqx"}
    assert found("YOLO") == {"Yanqx"}
    assert found("zedqx acme") == {"Zedqx"}
    assert found("nobody") == set()


def test_contact_list_pages(as_rep, rep):
    ContactFactory.create_batch(PAGE_SIZE + 1, owner=rep, company=None)
    first = as_rep.get(reverse("contacts")).content.decode()
    second = as_rep.get(reverse("contacts"), {"page": 2}).content.decode()
    assert first.count("data-contact-id=") == PAGE_SIZE
    assert second.count("data-contact-id=") == 1


def test_contact_search_as_you_type_answers_the_fragment(as_rep, rep):
    ContactFactory(owner=rep, first_name="Partial")
    body = as_rep.get(
        reverse("contacts"), {"q": "part"}, **HTMX, HTTP_HX_TARGET="results"
    ).content.decode()
    assert body.lstrip().startswith('<div id="results"')
    assert "Partial" in body


# --- contact create / edit / delete ---------------------------------------------------------------


def test_creating_a_contact_with_a_new_company_name_creates_the_company(as_rep, rep):
    response = as_rep.post(reverse("contact-create"), contact_data(company_name="  Brand  New "))

    contact = Contact.objects.get(email="ann@lee.example")
    assert response.status_code == 302
    assert response["Location"] == reverse("contact-detail", args=[contact.pk])
    assert contact.company.name == "Brand New"
    assert contact.company.owner == rep
    assert contact.owner == rep


def test_creating_a_contact_reuses_a_company_named_alike(as_rep, rep, outsider):
    existing = CompanyFactory(name="Globex", owner=outsider)
    as_rep.post(reverse("contact-create"), contact_data(company_name="GLOBEX"))
    assert Contact.objects.get().company == existing
    assert Company.objects.count() == 1


def test_duplicate_email_ignoring_case_is_a_clear_form_error(as_rep, rep, outsider):
    ContactFactory(owner=outsider, email="Ann@Lee.example", first_name="First")
    response = as_rep.post(
        reverse("contact-create"), contact_data(email="ann@LEE.example", company_name="Fresh Co")
    )

    assert response.status_code == 400
    assert "already uses this e-mail address" in response.content.decode()
    assert Contact.objects.count() == 1
    assert not Company.objects.filter(name="Fresh Co").exists()


def test_contact_needs_a_first_name_and_a_valid_email(as_rep):
    response = as_rep.post(reverse("contact-create"), contact_data(first_name="", email="x@"))
    assert response.status_code == 400
    assert response.content.decode().count('class="field-error"') == 2
    assert not Contact.objects.exists()


def test_add_contact_from_a_company_prefills_the_company(as_rep, rep):
    company = CompanyFactory(name="Prefilled Ltd", owner=rep)
    page = as_rep.get(reverse("contact-create"), {"company": company.pk}).content.decode()
    assert 'value="Prefilled Ltd"' in page
    assert as_rep.get(reverse("contact-create"), {"company": "abc"}).status_code == 200


def test_owner_edits_a_contact_inline(as_rep, rep):
    contact = ContactFactory(owner=rep, first_name="Before", company=None)
    url = reverse("contact-edit", args=[contact.pk])
    response = as_rep.post(
        url, contact_data(first_name="After", email=contact.email, owner=rep.pk), **HTMX
    )
    contact.refresh_from_db()
    assert response.status_code == 200
    assert 'id="record-card"' in response.content.decode()
    assert contact.first_name == "After"


def test_editing_a_contact_to_anothers_email_is_refused(as_rep, rep, outsider):
    ContactFactory(owner=outsider, email="taken@x.example")
    mine = ContactFactory(owner=rep, email="mine@x.example")
    response = as_rep.post(
        reverse("contact-edit", args=[mine.pk]), contact_data(email="TAKEN@x.example")
    )
    assert response.status_code == 400
    assert "already uses this e-mail address" in response.content.decode()
    mine.refresh_from_db()
    assert mine.email == "mine@x.example"


def test_contact_of_another_team_is_readable_but_not_editable(as_outsider, rep):
    contact = ContactFactory(owner=rep, first_name="Readable")
    detail = as_outsider.get(reverse("contact-detail", args=[contact.pk]))
    assert detail.status_code == 200
    assert reverse("contact-edit", args=[contact.pk]) not in detail.content.decode()

    edit = as_outsider.post(
        reverse("contact-edit", args=[contact.pk]), contact_data(first_name="Hijacked")
    )
    delete = as_outsider.post(reverse("contact-delete", args=[contact.pk]))

    assert edit.status_code == 403
    assert delete.status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Readable"


def test_an_unknown_contact_is_not_found(as_rep):
    assert as_rep.get(reverse("contact-detail", args=[999999])).status_code == 404


def test_manager_deletes_a_contact_of_their_team(client, manager, rep, people):
    contact = ContactFactory(owner=rep)
    client.force_login(manager)
    response = client.post(reverse("contact-delete", args=[contact.pk]))
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()


# --- contact detail -------------------------------------------------------------------------------


def test_contact_page_shows_only_the_deals_the_user_may_see(as_rep, rep, teammate, outsider):
    contact = ContactFactory(owner=outsider)
    DealFactory(owner=rep, contact=contact, title="My deal")
    DealFactory(owner=teammate, contact=contact, title="Team deal")
    DealFactory(owner=outsider, contact=contact, title="Secret deal")

    page = as_rep.get(reverse("contact-detail", args=[contact.pk])).content.decode()

    assert "My deal" in page
    assert "Team deal" in page
    assert "Secret deal" not in page


def test_anyone_who_reads_a_contact_can_log_a_call_with_it(as_outsider, outsider, rep):
    contact = ContactFactory(owner=rep)
    response = as_outsider.post(
        reverse("contact-activity", args=[contact.pk]), {"kind": "call", "subject": "Said hi"}
    )
    activity = Activity.objects.get(contact=contact)
    assert response.status_code == 302
    assert activity.owner == outsider
    page = as_outsider.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert "Said hi" in page


def test_contact_page_hides_activities_of_people_out_of_sight(as_rep, rep, outsider):
    contact = ContactFactory(owner=rep)
    Activity.objects.create(kind="note", subject="Visible note", owner=rep, contact=contact)
    Activity.objects.create(kind="note", subject="Private note", owner=outsider, contact=contact)
    page = as_rep.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert "Visible note" in page
    assert "Private note" not in page


# --- companies ------------------------------------------------------------------------------------


def test_company_list_shows_contact_and_visible_open_deal_counts(as_rep, rep, outsider):
    company = CompanyFactory(name="Countable", owner=rep)
    ContactFactory.create_batch(3, company=company, owner=rep)
    DealFactory(owner=rep, company=company)
    DealFactory(owner=outsider, company=company)  # not the rep's to see
    DealFactory(owner=rep, company=company, status="lost")

    page = as_rep.get(reverse("companies"), {"q": "countable"}).content.decode()
    row = page[page.index(f'data-company-id="{company.pk}"') :]
    cells = row[: row.index("</tr>")]

    assert '<td class="num">3</td>' in cells
    assert '<td class="num">1</td>' in cells


def test_company_search_covers_domain_and_industry(as_rep, rep):
    CompanyFactory(name="Alpha", domain="alpha.example", industry="Retail", owner=rep)
    CompanyFactory(name="Beta", domain="beta.example", industry="Banking", owner=rep)

    def found(q):
        page = as_rep.get(reverse("companies"), {"q": q}).content.decode()
        return {n for n in ("Alpha", "Beta") if f">{n}<" in page}

    assert found("beta.example") == {"Beta"}
    assert found("retail") == {"Alpha"}


def test_creating_a_company_normalises_a_pasted_url_to_its_domain(as_rep, rep):
    response = as_rep.post(
        reverse("company-create"), company_data(domain="https://www.Initech.example/about")
    )
    company = Company.objects.get()
    assert response.status_code == 302
    assert company.domain == "initech.example"
    assert company.owner == rep


@pytest.mark.parametrize("domain", ["INITECH.example", "http://initech.example/"])
def test_a_domain_already_taken_is_a_form_error(as_rep, outsider, domain):
    CompanyFactory(name="Original", domain="initech.example", owner=outsider)
    response = as_rep.post(reverse("company-create"), company_data(name="Copy", domain=domain))
    assert response.status_code == 400
    assert "Original already has the domain initech.example" in response.content.decode()
    assert Company.objects.count() == 1


def test_a_malformed_domain_or_blank_name_is_a_form_error(as_rep):
    response = as_rep.post(
        reverse("company-create"), company_data(name="  ", domain="not a domain")
    )
    assert response.status_code == 400
    assert "Enter a domain such as acme.com." in response.content.decode()
    assert "Give the company a name." in response.content.decode()
    assert not Company.objects.exists()


def test_company_of_another_team_is_readable_but_not_editable(as_outsider, rep):
    company = CompanyFactory(name="Guarded", owner=rep)
    assert as_outsider.get(reverse("company-detail", args=[company.pk])).status_code == 200
    assert as_outsider.get(reverse("company-edit", args=[company.pk])).status_code == 403
    assert (
        as_outsider.post(
            reverse("company-edit", args=[company.pk]), company_data(name="Taken over")
        ).status_code
        == 403
    )
    assert as_outsider.post(reverse("company-delete", args=[company.pk])).status_code == 403
    company.refresh_from_db()
    assert company.name == "Guarded"


def test_owner_edits_a_company_and_sees_the_card_again(as_rep, rep):
    company = CompanyFactory(name="Oldname", owner=rep, domain="")
    response = as_rep.post(
        reverse("company-edit", args=[company.pk]),
        company_data(name="Newname", domain="", size="11-50", owner=rep.pk),
    )
    company.refresh_from_db()
    assert response.status_code == 302
    assert (company.name, company.size) == ("Newname", "11-50")


def test_deleting_a_company_keeps_its_contacts_and_deals(as_rep, rep):
    company = CompanyFactory(owner=rep)
    contact = ContactFactory(owner=rep, company=company)
    deal = DealFactory(owner=rep, company=company)

    response = as_rep.post(reverse("company-delete", args=[company.pk]))

    assert response.status_code == 302
    assert not Company.objects.filter(pk=company.pk).exists()
    contact.refresh_from_db()
    deal.refresh_from_db()
    assert contact.company is None
    assert deal.company is None


def test_company_page_lists_its_contacts_and_visible_deals(as_rep, rep, outsider):
    company = CompanyFactory(owner=outsider, name="Hub")
    ContactFactory(company=company, owner=outsider, first_name="Staffer")
    DealFactory(owner=rep, company=company, title="Rep deal")
    DealFactory(owner=outsider, company=company, title="Outsider deal")

    page = as_rep.get(reverse("company-detail", args=[company.pk])).content.decode()

    assert "Staffer" in page
    assert "Rep deal" in page
    assert "Outsider deal" not in page


def test_company_autocomplete_suggests_matching_names(as_rep, rep):
    CompanyFactory(name="Umbrella Corp", owner=rep)
    CompanyFactory(name="Cyberdyne", owner=rep)
    body = as_rep.get(reverse("company-options"), {"company_name": "brel"}).content.decode()
    assert '<option value="Umbrella Corp">' in body
    assert "Cyberdyne" not in body
    assert as_rep.get(reverse("company-options")).content.decode().strip() == ""


@pytest.mark.parametrize(("typed", "status"), [("a\x00b", 400), ("%_", 200), ("x" * 5000, 200)])
def test_company_autocomplete_survives_odd_input(as_rep, typed, status):
    # NUL is refused for every URL (pipeline_crm.middleware.NulInUrlRefusalMiddleware).
    assert as_rep.get(reverse("company-options"), {"company_name": typed}).status_code == status
