"""The leads pages: list, search, filters, score breakdown, create, inline edit, convert,
disqualify, delete and activities — each with who may do it (SPEC §3, §4)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.models import Company, Contact, Lead
from contacts.services import create_record
from deals.models import Deal
from followups.models import Activity
from people.views import PAGE_SIZE, _deal_url
from tests.factories import LeadFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx_to(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every person fixture hashes a password; the production hasher costs ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def as_rep(client, rep, people):
    client.force_login(rep)
    return client


def lead_form_data(**overrides):
    data = {
        "first_name": "Jane",
        "last_name": "Doe",
        "company_name": "Acme Corp",
        "email": "jane@acme.example",
        "phone": "+1 555 0100",
        "source": "referral",
        "status": "new",
        "need": "Faster invoicing",
        "budget": "25000",
        "timeline": "",
        "owner": "",
    }
    data.update(overrides)
    return data


def form_of(lead: Lead, **overrides):
    """What the edit form would post back unchanged, with `overrides` applied."""
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company_name": lead.company_name,
        "email": lead.email,
        "phone": lead.phone,
        "source": lead.source,
        "status": lead.status,
        "need": lead.need,
        "budget": "" if lead.budget is None else str(lead.budget),
        "timeline": "",
        "owner": str(lead.owner_id),
    }
    if lead.authority:
        data["authority"] = "on"
    data.update(overrides)
    return data


# --- list -----------------------------------------------------------------------------------------


def test_rep_lists_own_and_teammates_leads_but_never_another_teams(as_rep, rep, teammate, outsider):
    LeadFactory(owner=rep, first_name="Mine")
    LeadFactory(owner=teammate, first_name="Teammates")
    LeadFactory(owner=outsider, first_name="Hidden")

    page = as_rep.get(reverse("leads")).content.decode()

    assert "Mine" in page
    assert "Teammates" in page
    assert "Hidden" not in page
    assert "2 leads" in page


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(reverse("leads"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_search_matches_name_company_and_email_word_by_word(as_rep, rep):
    LeadFactory(owner=rep, first_name="Jane", last_name="Roe", company_name="Acme Corp")
    LeadFactory(owner=rep, first_name="Bob", company_name="Globex", email="bob@initech.example")
    LeadFactory(owner=rep, first_name="Carol", company_name="Umbrella")

    def names(q):
        page = as_rep.get(reverse("leads"), {"q": q}).content.decode()
        return {n for n in ("Jane", "Bob", "Carol") if f">{n} " in page}

    assert names("acme") == {"Jane"}
    assert names("INITECH") == {"Bob"}
    assert names("jane acme") == {"Jane"}
    assert names("jane globex") == set()


def test_filters_by_status_source_and_owner(as_rep, rep, teammate):
    LeadFactory(owner=rep, first_name="Newref", status="new", source="referral")
    LeadFactory(owner=rep, first_name="Workev", status="working", source="event")
    LeadFactory(owner=teammate, first_name="Materef", status="new", source="referral")

    def shown(**params):
        page = as_rep.get(reverse("leads"), params).content.decode()
        return {n for n in ("Newref", "Workev", "Materef") if n in page}

    assert shown(status="working") == {"Workev"}
    assert shown(source="referral") == {"Newref", "Materef"}
    assert shown(owner="me") == {"Newref", "Workev"}
    assert shown(owner=str(teammate.pk)) == {"Materef"}


def test_bad_filter_values_are_ignored_not_a_server_error(as_rep, rep):
    LeadFactory(owner=rep, first_name="Still")
    response = as_rep.get(
        reverse("leads"),
        {"status": "bogus", "owner": "abc", "sort": "drop table", "page": "x", "q": "s" * 5000},
    )
    assert response.status_code == 200


def test_sorting_by_score_puts_the_hottest_lead_first_or_last(as_rep, rep):
    LeadFactory(owner=rep, first_name="Lukewarm", score=40)
    LeadFactory(owner=rep, first_name="Hottest", score=95)
    LeadFactory(owner=rep, first_name="Coldest", score=5)

    def order(sort):
        page = as_rep.get(reverse("leads"), {"sort": sort}).content.decode()
        return sorted(("Lukewarm", "Hottest", "Coldest"), key=page.index)

    assert order("-score") == ["Hottest", "Lukewarm", "Coldest"]
    assert order("score") == ["Coldest", "Lukewarm", "Hottest"]


def test_list_pages_through_many_leads(as_rep, rep):
    LeadFactory.create_batch(PAGE_SIZE + 5, owner=rep)

    first = as_rep.get(reverse("leads"))
    second = as_rep.get(reverse("leads"), {"page": 2})
    beyond = as_rep.get(reverse("leads"), {"page": 99})

    assert first.content.decode().count("data-lead-id=") == PAGE_SIZE
    assert "Page 1 of 2" in first.content.decode()
    assert second.content.decode().count("data-lead-id=") == 5
    assert "Page 2 of 2" in beyond.content.decode()


def test_each_row_shows_the_score_with_its_breakdown(as_rep, rep):
    create_record(
        Lead,
        by=rep,
        fields={
            "first_name": "Scored",
            "need": "CRM",
            "budget": Decimal("20000"),
            "authority": True,
            "source": Lead.Source.REFERRAL,
            "email": "s@x.example",
        },
    )
    page = as_rep.get(reverse("leads")).content.decode()

    assert 'role="tooltip"' in page
    assert "Need is set" in page
    assert "Decision maker equals yes" in page
    assert "Score 90 / 100" in page


def test_search_as_you_type_answers_only_the_results_fragment(as_rep, rep):
    LeadFactory(owner=rep, first_name="Fragment")
    response = as_rep.get(reverse("leads"), {"q": "frag"}, **htmx_to("results"))
    body = response.content.decode()

    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="results"')
    assert "<html" not in body
    assert "Fragment" in body


def test_a_history_restore_gets_the_whole_page(as_rep, rep):
    response = as_rep.get(
        reverse("leads"), **htmx_to("results"), HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


# --- create ---------------------------------------------------------------------------------------


def test_creating_a_lead_scores_it_and_opens_its_page(as_rep, rep):
    response = as_rep.post(reverse("lead-create"), lead_form_data())

    lead = Lead.objects.get(email="jane@acme.example")
    assert response.status_code == 302
    assert response["Location"] == reverse("lead-detail", args=[lead.pk])
    assert lead.owner == rep
    assert lead.score > 0
    assert ("Need is set", 20) in [(part["rule"], part["points"]) for part in lead.score_breakdown]


def test_create_form_without_name_company_or_email_explains_what_is_missing(as_rep):
    response = as_rep.post(
        reverse("lead-create"),
        lead_form_data(first_name="", last_name="", company_name="", email=""),
    )
    assert response.status_code == 400
    assert "Give at least a name, a company or an e-mail address." in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("budget", "-5"), ("budget", "abc"), ("email", "not-an-email"), ("timeline", "31/31/2020")],
)
def test_create_form_rejects_bad_values_with_a_field_error(as_rep, field, value):
    response = as_rep.post(reverse("lead-create"), lead_form_data(**{field: value}))
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not Lead.objects.exists()


def test_rep_cannot_give_a_new_lead_to_another_teams_rep(as_rep, outsider):
    response = as_rep.post(reverse("lead-create"), lead_form_data(owner=str(outsider.pk)))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Lead.objects.exists()


def test_owner_choice_is_offered_only_to_those_who_can_assign(client, rep, manager, people):
    client.force_login(rep)
    assert '<select name="owner"' not in client.get(reverse("lead-create")).content.decode()
    client.force_login(manager)
    page = client.get(reverse("lead-create")).content.decode()
    assert '<select name="owner"' in page
    assert f'<option value="{rep.pk}"' in page


def test_manager_creates_a_lead_for_a_rep_of_their_team(client, manager, rep, people):
    client.force_login(manager)
    client.post(reverse("lead-create"), lead_form_data(owner=str(rep.pk)))
    assert Lead.objects.get().owner == rep


# --- detail ---------------------------------------------------------------------------------------


def test_lead_outside_sight_is_not_found(as_rep, outsider):
    lead = LeadFactory(owner=outsider)
    for name in ("lead-detail", "lead-edit"):
        assert as_rep.get(reverse(name, args=[lead.pk])).status_code == 404
    for name in ("lead-edit", "lead-convert", "lead-disqualify", "lead-delete", "lead-activity"):
        assert as_rep.post(reverse(name, args=[lead.pk]), {"reason": "x"}).status_code == 404


def test_teammates_lead_is_readable_but_offers_no_edit_or_convert(as_rep, teammate):
    lead = LeadFactory(owner=teammate, first_name="Peer")
    page = as_rep.get(reverse("lead-detail", args=[lead.pk])).content.decode()

    assert "Peer" in page
    assert reverse("lead-edit", args=[lead.pk]) not in page
    assert reverse("lead-convert", args=[lead.pk]) not in page


def test_detail_lists_the_leads_activities(as_rep, rep):
    lead = LeadFactory(owner=rep)
    Activity.objects.create(kind="call", subject="Intro call", owner=rep, lead=lead)
    page = as_rep.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Intro call" in page


# --- inline edit ----------------------------------------------------------------------------------


def test_inline_edit_swaps_in_the_form_then_the_saved_card(as_rep, rep):
    lead = LeadFactory(owner=rep, first_name="Old", need="")
    url = reverse("lead-edit", args=[lead.pk])

    form = as_rep.get(url, **htmx_to("record-card")).content.decode()
    assert "<html" not in form
    assert 'name="first_name"' in form

    saved = as_rep.post(url, form_of(lead, first_name="New", need="Pain"), **HTMX)
    body = saved.content.decode()
    lead.refresh_from_db()

    assert saved.status_code == 200
    assert 'id="record-card"' in body
    assert "New" in body
    assert lead.first_name == "New"
    assert "Need is set" in [part["rule"] for part in lead.score_breakdown]  # the score follows


def test_inline_edit_with_bad_input_keeps_the_form_with_its_error(as_rep, rep):
    lead = LeadFactory(owner=rep, first_name="Keep")
    url = reverse("lead-edit", args=[lead.pk])

    partial = as_rep.post(url, form_of(lead, email="nope", first_name="Changed"), **HTMX)
    full = as_rep.post(url, form_of(lead, email="nope", first_name="Changed"))

    assert partial.status_code == 422  # app.js swaps 422: the form stays, with its error
    assert "Enter a valid email address." in partial.content.decode()
    assert full.status_code == 400
    lead.refresh_from_db()
    assert lead.first_name == "Keep"


def test_edit_without_htmx_redirects_back_to_the_lead(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(reverse("lead-edit", args=[lead.pk]), form_of(lead, phone="123"))
    assert response.status_code == 302
    assert response["Location"] == reverse("lead-detail", args=[lead.pk])


def test_cancel_returns_the_read_only_card(as_rep, rep):
    lead = LeadFactory(owner=rep, first_name="Card")
    body = as_rep.get(
        reverse("lead-detail", args=[lead.pk]), **htmx_to("record-card")
    ).content.decode()
    assert body.lstrip().startswith('<section class="card record-card" id="record-card"')


def test_teammate_may_not_edit_a_lead_they_can_see(as_rep, teammate):
    lead = LeadFactory(owner=teammate, first_name="Theirs")
    url = reverse("lead-edit", args=[lead.pk])

    assert as_rep.get(url).status_code == 403
    response = as_rep.post(url, form_of(lead, first_name="Mine now"))

    assert response.status_code == 403
    assert "may view this lead but not change it" in response.content.decode()
    lead.refresh_from_db()
    assert lead.first_name == "Theirs"


def test_manager_edits_a_lead_of_their_team(client, manager, rep, people):
    lead = LeadFactory(owner=rep)
    client.force_login(manager)
    client.post(reverse("lead-edit", args=[lead.pk]), form_of(lead, status="working"))
    lead.refresh_from_db()
    assert lead.status == "working"


def test_edit_cannot_hand_the_lead_to_someone_outside_reach(as_rep, rep, outsider):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(reverse("lead-edit", args=[lead.pk]), form_of(lead, owner=outsider.pk))
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.owner == rep


def test_edit_cannot_disqualify_without_a_reason(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        reverse("lead-edit", args=[lead.pk]), form_of(lead, status="disqualified")
    )
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.status == "new"


# --- convert --------------------------------------------------------------------------------------


def test_convert_creates_the_deal_company_and_contact_then_opens_the_deal(as_rep, rep):
    lead = LeadFactory(
        owner=rep, email="ann@bigco.example", company_name="BigCo", budget=Decimal("9000")
    )
    response = as_rep.post(reverse("lead-convert", args=[lead.pk]), {"title": "", "amount": ""})

    deal = Deal.objects.get(lead=lead)
    lead.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == _deal_url(deal)
    assert deal.title == "BigCo"
    assert deal.amount == Decimal("9000")
    assert deal.company == Company.objects.get(domain="bigco.example")
    assert deal.contact == Contact.objects.get(email="ann@bigco.example")
    assert lead.status == Lead.Status.QUALIFIED
    assert lead.converted_at is not None


def test_convert_takes_the_title_and_amount_given(as_rep, rep):
    lead = LeadFactory(owner=rep)
    as_rep.post(reverse("lead-convert", args=[lead.pk]), {"title": "Pilot", "amount": "1200.50"})
    deal = Deal.objects.get(lead=lead)
    assert (deal.title, deal.amount) == ("Pilot", Decimal("1200.50"))


def test_convert_into_a_chosen_pipeline_and_refuse_an_unknown_one(as_rep, rep, admin_user):
    from deals.services import create_pipeline, create_stage

    other = create_pipeline(by=admin_user, name="Renewals")
    create_stage(by=admin_user, pipeline=other, name="Talk", kind="open", probability=30)
    lead = LeadFactory(owner=rep)

    refused = as_rep.post(reverse("lead-convert", args=[lead.pk]), {"pipeline": "999999"})
    as_rep.post(reverse("lead-convert", args=[lead.pk]), {"pipeline": str(other.pk)})

    assert refused.status_code == 400
    assert Deal.objects.get(lead=lead).pipeline == other


def test_converting_twice_is_refused_with_a_message(as_rep, rep):
    lead = LeadFactory(owner=rep)
    as_rep.post(reverse("lead-convert", args=[lead.pk]), {})
    again = as_rep.post(reverse("lead-convert", args=[lead.pk]), {})

    assert again.status_code == 400
    assert "already converted" in again.content.decode()
    assert Deal.objects.filter(lead=lead).count() == 1


def test_convert_rejects_a_negative_amount(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(reverse("lead-convert", args=[lead.pk]), {"amount": "-1"})
    assert response.status_code == 400
    assert not Deal.objects.exists()


def test_teammate_may_not_convert(as_rep, teammate):
    lead = LeadFactory(owner=teammate)
    response = as_rep.post(reverse("lead-convert", args=[lead.pk]), {})
    assert response.status_code == 403
    assert not Deal.objects.exists()


# --- disqualify -----------------------------------------------------------------------------------


def test_disqualify_needs_a_reason(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(reverse("lead-disqualify", args=[lead.pk]), {"reason": "   "})

    assert response.status_code == 400
    assert "Say why the lead is disqualified." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "new"


def test_disqualify_with_a_reason_records_it(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(reverse("lead-disqualify", args=[lead.pk]), {"reason": "No budget"})
    lead.refresh_from_db()

    assert response.status_code == 302
    assert (lead.status, lead.disqualified_reason) == ("disqualified", "No budget")
    page = as_rep.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Disqualified: No budget" in page


def test_teammate_may_not_disqualify(as_rep, teammate):
    lead = LeadFactory(owner=teammate)
    response = as_rep.post(reverse("lead-disqualify", args=[lead.pk]), {"reason": "Nope"})
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == "new"


# --- delete ---------------------------------------------------------------------------------------


def test_owner_deletes_a_lead(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(reverse("lead-delete", args=[lead.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads")
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_teammate_may_not_delete(as_rep, teammate):
    lead = LeadFactory(owner=teammate)
    assert as_rep.post(reverse("lead-delete", args=[lead.pk])).status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_delete_answers_only_post(as_rep, rep):
    lead = LeadFactory(owner=rep)
    assert as_rep.get(reverse("lead-delete", args=[lead.pk])).status_code == 405
    assert Lead.objects.filter(pk=lead.pk).exists()


# --- activities -----------------------------------------------------------------------------------


def test_logging_a_call_records_it_as_done_and_shows_it(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        reverse("lead-activity", args=[lead.pk]),
        {"kind": "call", "subject": "Discovery call", "body": "Wants a demo"},
        **htmx_to("activities"),
    )
    activity = Activity.objects.get(lead=lead)

    assert response.status_code == 200
    assert 'id="activities"' in response.content.decode()
    assert "Discovery call" in response.content.decode()
    assert activity.done_at is not None
    assert activity.owner == rep


def test_planning_a_task_with_a_due_date_leaves_it_open(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        reverse("lead-activity", args=[lead.pk]),
        {"kind": "task", "subject": "Send proposal", "due_at": "2030-01-02T09:30"},
    )
    activity = Activity.objects.get(lead=lead)
    assert response.status_code == 302
    assert activity.done_at is None
    assert activity.due_at.year == 2030


def test_an_activity_needs_a_subject(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        reverse("lead-activity", args=[lead.pk]), {"kind": "note", "subject": "  "}
    )
    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert not Activity.objects.exists()


def test_a_rejected_activity_comes_back_in_place_with_its_error(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        reverse("lead-activity", args=[lead.pk]),
        {"kind": "call", "subject": ""},
        **htmx_to("activities"),
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert body.lstrip().startswith('<section class="card" id="activities">')
    assert "field-error" in body


def test_an_unknown_activity_kind_is_a_form_error(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        reverse("lead-activity", args=[lead.pk]), {"kind": "fax", "subject": "Hi"}
    )
    assert response.status_code == 400
    assert not Activity.objects.exists()


def test_teammate_may_not_log_on_a_lead_they_only_read(as_rep, teammate):
    lead = LeadFactory(owner=teammate)
    response = as_rep.post(
        reverse("lead-activity", args=[lead.pk]), {"kind": "call", "subject": "Sneaky"}
    )
    assert response.status_code == 403
    assert not Activity.objects.exists()


def test_a_planned_activity_can_be_marked_done_from_the_lead(as_rep, rep):
    lead = LeadFactory(owner=rep)
    planned = Activity.objects.create(kind="task", subject="Send quote", owner=rep, lead=lead)
    page = as_rep.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    done_url = reverse("lead-activity-done", args=[lead.pk, planned.pk])
    assert done_url in page

    response = as_rep.post(done_url, **htmx_to("activities"))

    planned.refresh_from_db()
    assert response.status_code == 200
    assert planned.done_at is not None
    assert done_url not in response.content.decode()


def test_marking_done_is_limited_to_the_records_own_activities_and_their_writers(
    as_rep, rep, teammate
):
    lead = LeadFactory(owner=rep)
    other_lead = LeadFactory(owner=rep)
    elsewhere = Activity.objects.create(kind="task", subject="Other", owner=rep, lead=other_lead)
    peers = Activity.objects.create(kind="task", subject="Peer's", owner=teammate, lead=lead)

    wrong_record = as_rep.post(reverse("lead-activity-done", args=[lead.pk, elsewhere.pk]))
    not_mine = as_rep.post(reverse("lead-activity-done", args=[lead.pk, peers.pk]))

    assert wrong_record.status_code == 404
    assert not_mine.status_code == 403
    peers.refresh_from_db()
    assert peers.done_at is None
