"""One timeline on contact and company pages and in the API (SPEC §9 Timeline): activities of
the record, of its deals and (company) of its contacts, stage changes, won and lost, newest
first, within the viewer's sight; keyset pages; a kind filter."""

import datetime as dt

import pytest
from django.urls import reverse

from deals.models import Deal, FieldChange, StageChange
from followups.models import Activity
from people.timeline import Cursor, timeline_page
from tests.factories import CompanyFactory, ContactFactory, DealFactory, lost_reason_entry

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def done(owner, hours, kind="call", **links):
    return Activity.objects.create(
        kind=kind, subject=f"{kind} at {hours}", owner=owner, done_at=at(hours), **links
    )


def move(deal, hours, old, new, by):
    return StageChange.objects.create(
        deal=deal, from_stage_name=old, to_stage_name=new, by=by, at=at(hours)
    )


def status(deal, hours, new, by):
    return FieldChange.objects.create(
        deal=deal, field="status", old_value="open", new_value=new, by=by, at=at(hours)
    )


@pytest.fixture
def acme(rep, outsider, people):
    """Acme with two contacts of rep's: Ann (deal "Ann's deal", lost in the end) and Bob (deal
    "Bob's deal", won), a note on the company itself; an outsider's deal at Acme and their own
    call with Ann, which rep may not see; a call with another company's contact."""
    company = CompanyFactory(name="Acme", owner=rep)
    ann = ContactFactory(first_name="Ann", company=company, owner=rep)
    bob = ContactFactory(first_name="Bob", company=company, owner=rep)
    ann_deal = DealFactory(title="Ann's deal", owner=rep, company=company, contact=ann)
    bob_deal = DealFactory(title="Bob's deal", owner=rep, contact=bob, company=None)
    hidden = DealFactory(title="Hidden deal", owner=outsider, company=company)
    done(rep, 1, "call", contact=ann)
    move(ann_deal, 2, "", "Lead In", rep)
    done(rep, 3, "email", deal=ann_deal)
    move(ann_deal, 4, "Lead In", "Proposal", rep)
    done(rep, 5, "note", company=company)
    done(rep, 6, "meeting", deal=bob_deal)
    move(bob_deal, 7, "Proposal", "Won", rep)
    status(bob_deal, 7, "won", rep)
    status(ann_deal, 8, "lost", rep)
    Deal.objects.filter(pk=ann_deal.pk).update(
        status="lost", lost_reason=lost_reason_entry("No budget")
    )
    done(outsider, 9, "call", deal=hidden)
    move(hidden, 9, "", "Lead In", outsider)
    done(outsider, 9, "meeting", contact=ann)
    done(rep, 10, "call", contact=ContactFactory(owner=rep))
    return {"company": company, "ann": ann, "bob": bob, "ann_deal": ann_deal}


def lines(page):
    return [(entry.kind, entry.summary) for entry in page.entries]


COMPANY_TIMELINE = [
    ("lost", "Ann's deal lost: No budget"),
    ("won", "Bob's deal won"),
    ("stage", "Bob's deal: Proposal → Won"),
    ("meeting", "meeting at 6"),
    ("note", "note at 5"),
    ("stage", "Ann's deal: Lead In → Proposal"),
    ("email", "email at 3"),
    ("stage", "Ann's deal: created in Lead In"),
    ("call", "call at 1"),
]


def test_a_company_timeline_has_its_contacts_and_deals_history_newest_first(rep, acme):
    assert lines(timeline_page(rep, acme["company"])) == COMPANY_TIMELINE


def test_a_contact_timeline_has_their_activities_and_their_deals_history(rep, acme):
    assert lines(timeline_page(rep, acme["ann"])) == [
        ("lost", "Ann's deal lost: No budget"),
        ("stage", "Ann's deal: Lead In → Proposal"),
        ("email", "email at 3"),
        ("stage", "Ann's deal: created in Lead In"),
        ("call", "call at 1"),
    ]


def test_deals_and_activities_out_of_sight_are_left_out(outsider, acme):
    assert lines(timeline_page(outsider, acme["company"])) == [
        ("stage", "Hidden deal: created in Lead In"),
        ("meeting", "meeting at 9"),
        ("call", "call at 9"),
    ]
    assert lines(timeline_page(outsider, acme["ann"])) == [("meeting", "meeting at 9")]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("stage", [line for line in COMPANY_TIMELINE if line[0] == "stage"]),
        ("won", [("won", "Bob's deal won")]),
        ("lost", [("lost", "Ann's deal lost: No budget")]),
        ("note", [("note", "note at 5")]),
        ("email", [("email", "email at 3")]),
    ],
)
def test_the_kind_filter_keeps_one_kind(rep, acme, kind, expected):
    assert lines(timeline_page(rep, acme["company"], kind=kind)) == expected


def test_pages_follow_each_other_without_gaps_or_repeats_even_on_ties(rep, acme):
    company = acme["company"]
    # Three more at the very time of the won deal: ties broken by kind, then id.
    for kind in ("call", "task", "call"):
        done(rep, 7, kind, company=company)
    whole = lines(timeline_page(rep, company, size=100))
    walked, after = [], None
    while True:
        page = timeline_page(rep, company, after=after, size=2)
        walked += lines(page)
        if page.next is None:
            break
        after = Cursor.parse(str(page.next))
    assert len(whole) == 12
    assert walked == whole
    assert [kind for kind, _ in whole[1:6]] == ["won", "task", "stage", "call", "call"]


def test_the_planned_follow_ups_are_listed_apart_on_the_page(client, rep, acme):
    Activity.objects.create(
        kind="task", subject="Send Bob the contract", owner=rep, contact=acme["bob"]
    )
    client.force_login(rep)

    page = client.get(reverse("company-detail", args=[acme["company"].pk])).content.decode()

    planned, _, history = page.partition('id="timeline"')
    assert "Send Bob the contract" in planned
    assert "Send Bob the contract" not in history
    assert history.index("Ann&#x27;s deal lost: No budget") < history.index("call at 1")
    assert "Hidden deal" not in page


def test_load_more_and_the_kind_filter_answer_htmx_with_their_part(client, rep, acme):
    company, url = acme["company"], reverse("company-timeline", args=[acme["company"].pk])
    for index in range(30):
        done(rep, 20 + index, "call", company=company)
    client.force_login(rep)

    first = client.get(reverse("company-detail", args=[company.pk])).content.decode()
    older = timeline_page(rep, company).next
    more = client.get(url, {"after": str(older)}, HTTP_HX_REQUEST="true").content.decode()
    notes = client.get(url, {"kind": "note"}, HTTP_HX_REQUEST="true").content.decode()

    assert "call at 49" in first
    assert "call at 24" not in first
    assert f"after={older}" in first
    assert more.lstrip().startswith("<li")
    assert "call at 24" in more
    assert "call at 1" in more
    assert 'id="timeline"' in notes
    assert "note at 5" in notes
    assert "call at" not in notes


@pytest.mark.parametrize("rows", [3, 40])
def test_the_api_query_count_stays_flat_as_rows_grow(
    api_for, rep, acme, rows, django_assert_max_num_queries
):
    company = acme["company"]
    for index in range(rows):
        deal = DealFactory(owner=rep, company=company)
        move(deal, 30 + index, "", "Lead In", rep)
        done(rep, 30 + index, "call", deal=deal)
        status(deal, 30 + index, "won", rep)
    api = api_for(rep)
    with django_assert_max_num_queries(5):
        response = api.get(f"/api/companies/{company.pk}/timeline/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(25, len(COMPANY_TIMELINE) + 3 * rows)


def test_the_api_gives_pages_of_at_kind_summary_deal_activity_by(api_for, rep, acme):
    api = api_for(rep)
    url = f"/api/contacts/{acme['ann'].pk}/timeline/"

    first = api.get(url, {"kind": "email"}).json()
    whole = api.get(url).json()

    email = Activity.objects.get(subject="email at 3")
    assert first == {
        "next": None,
        "results": [
            {
                "at": "2026-01-05T12:00:00Z",
                "kind": "email",
                "summary": "email at 3",
                "deal": acme["ann_deal"].pk,
                "activity": email.pk,
                "by": rep.pk,
            }
        ],
    }
    assert [entry["kind"] for entry in whole["results"]] == [
        "lost",
        "stage",
        "email",
        "stage",
        "call",
    ]
    assert whole["results"][0]["activity"] is None


def test_the_api_walks_its_pages_by_next(api_for, rep, acme, settings):
    for index in range(30):
        done(rep, 20 + index, "call", contact=acme["ann"])
    api = api_for(rep)

    first = api.get(f"/api/contacts/{acme['ann'].pk}/timeline/").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 25
    assert [e["summary"] for e in second["results"]][-2:] == [
        "Ann's deal: created in Lead In",
        "call at 1",
    ]
    assert second["next"] is None
    assert len(first["results"]) + len(second["results"]) == 35


@pytest.mark.parametrize("query", [{"kind": "fax"}, {"after": "yesterday"}])
def test_the_api_refuses_an_unknown_kind_or_cursor(api_for, rep, acme, query):
    response = api_for(rep).get(f"/api/companies/{acme['company'].pk}/timeline/", query)

    assert response.status_code == 400
    assert list(response.json()) == list(query)


def test_a_planned_follow_up_of_a_deal_is_done_from_its_company_page(client, rep, acme):
    planned = Activity.objects.create(
        kind="call", subject="Call about the renewal", owner=rep, deal=acme["ann_deal"]
    )
    client.force_login(rep)
    url = reverse("company-activity-done", args=[acme["company"].pk, planned.pk])

    response = client.post(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="activities")

    planned.refresh_from_db()
    assert response.status_code == 200
    assert planned.done_at is not None
    history = response.content.decode().partition('id="timeline"')[2]
    assert "Call about the renewal" in history
