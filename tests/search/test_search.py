"""Global search (SPEC §9): what it finds, how it ranks, whom it shows what, bad input."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from search import selectors
from search.selectors import search
from tests.clients import signed_in
from tests.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text and trigram search are PostgreSQL's"
)


def found(user, q, **kwargs):
    return {(hit.type, hit.id) for hit in search(user=user, q=q, **kwargs)}


@pytest.fixture
def world(rep, teammate, outsider, team_a, team_b):
    """A deal of the rep's with its company and contact, a teammate's lead, and records of
    an outsider (another team)."""
    bluepeak = CompanyFactory(name="Bluepeak Foods", domain="bluepeak.example", owner=rep)
    ines = ContactFactory(
        first_name="Ines", last_name="Moreau", email="ines.moreau@bluepeak.example",
        company=bluepeak, owner=rep,
    )  # fmt: skip
    deal = DealFactory(title="Fleet rollout", owner=rep, company=bluepeak, contact=ines)
    lead = LeadFactory(
        first_name="Jonas", last_name="Lindqvist", email="jonas@harbor.example",
        company_name="Harbor Media", owner=teammate,
    )  # fmt: skip
    secret = CompanyFactory(name="Zenith Robotics", domain="zenith.example", owner=outsider)
    hidden_deal = DealFactory(title="Zenith expansion", owner=outsider, company=secret)
    hidden_lead = LeadFactory(
        first_name="Olga", last_name="Zenithova", email="olga@zenith.example", owner=outsider
    )
    return {
        "company": bluepeak, "contact": ines, "deal": deal, "lead": lead,
        "secret": secret, "hidden_deal": hidden_deal, "hidden_lead": hidden_lead,
    }  # fmt: skip


def test_finds_a_deal_by_a_word_of_its_title(rep, world):
    assert ("deal", world["deal"].pk) in found(rep, "rollout")
    assert ("deal", world["deal"].pk) in found(rep, "Fleet roll")


def test_finds_a_deal_and_its_contact_by_the_contacts_name(rep, world):
    hits = found(rep, "Ines Moreau")
    assert ("contact", world["contact"].pk) in hits
    assert ("deal", world["deal"].pk) in hits


def test_finds_a_deal_and_its_company_by_the_company_name(rep, world):
    hits = found(rep, "bluepeak")
    assert ("company", world["company"].pk) in hits
    assert ("deal", world["deal"].pk) in hits


def test_finds_people_by_their_email_address(rep, world):
    assert ("contact", world["contact"].pk) in found(rep, "ines.moreau@bluepeak.example")
    assert ("contact", world["contact"].pk) in found(rep, "ines.moreau@blue")
    assert ("lead", world["lead"].pk) in found(rep, "jonas@harbor")


def test_an_address_with_an_at_sign_is_found_inside_longer_ones_in_any_case(rep):
    """The two halves of an address are looked up through their own indexes (search 0005):
    the text's part before the `@` may end the address's, the part after may start its."""
    inside = ContactFactory(email="Mary.Ann@North-Star.example.org", owner=rep)
    LeadFactory(email="ann@north-star.example.org", owner=rep)
    other = ContactFactory(email="ann@south-star.example.org", owner=rep)
    for q in ("ann@north-star.example", "ANN@North", "ary.ann@", "@north-star.EXAMPLE.org"):
        assert ("contact", inside.pk) in found(rep, q), q
        assert ("contact", other.pk) not in found(rep, q), q


def test_finds_a_company_by_its_domain_and_a_lead_by_its_company(rep, world):
    assert ("company", world["company"].pk) in found(rep, "bluepeak.example")
    assert ("lead", world["lead"].pk) in found(rep, "Harbor Media")


@needs_postgresql
@pytest.mark.parametrize(
    ("typo", "meant"),
    [("Bluepaek", "company"), ("Bluepeek", "company"), ("Bluepak", "company"), ("Moreu", "contact"),
     ("Lindqvsit", "lead"), ("rollut", "deal"), ("Flet rollout", "deal")],
)  # fmt: skip
def test_one_wrong_letter_still_finds_the_record(rep, world, typo, meant):
    assert (meant, world[meant].pk) in found(rep, typo)


@needs_postgresql
def test_one_wrong_letter_of_a_four_letter_name_still_finds_it(rep):
    acme = CompanyFactory(name="Acme", owner=rep)
    assert ("company", acme.pk) in found(rep, "Acne")


def test_an_exact_name_ranks_above_a_longer_one_and_a_fuzzy_one(rep):
    longer = CompanyFactory(name="Summit Health Labs", owner=rep)
    exact = CompanyFactory(name="Summit", owner=rep)
    starts = CompanyFactory(name="Summitry", owner=rep)
    fuzzy = CompanyFactory(name="Sumit Travel", owner=rep)
    ids = [hit.id for hit in search(user=rep, q="summit") if hit.type == "company"]
    assert ids[0] == exact.pk
    assert ids.index(longer.pk) < ids.index(fuzzy.pk) if fuzzy.pk in ids else True
    assert ids.index(starts.pk) < len(ids)


def test_every_type_gets_a_place_however_many_deals_match(rep):
    company = CompanyFactory(name="Granite Energy", owner=rep)
    for n in range(30):
        DealFactory(title=f"Granite Energy deal {n}", owner=rep)
    hits = search(user=rep, q="granite", limit=10)
    assert len(hits) == 10
    assert ("company", company.pk) in {(hit.type, hit.id) for hit in hits}


def test_a_rep_never_finds_another_teams_deals_or_leads(rep, world):
    hits = found(rep, "zenith")
    assert ("deal", world["hidden_deal"].pk) not in hits
    assert ("lead", world["hidden_lead"].pk) not in hits
    # Companies and contacts are every signed-in user's to read (SPEC §4).
    assert ("company", world["secret"].pk) in hits


def test_a_manager_finds_their_teams_deals_and_leads_but_not_another_teams(manager, world):
    assert ("deal", world["deal"].pk) in found(manager, "rollout")
    assert ("lead", world["lead"].pk) in found(manager, "Lindqvist")
    hits = found(manager, "zenith")
    assert ("deal", world["hidden_deal"].pk) not in hits
    assert ("lead", world["hidden_lead"].pk) not in hits


def test_an_admin_finds_everyones(admin_user, world):
    hits = found(admin_user, "zenith")
    assert {("deal", world["hidden_deal"].pk), ("lead", world["hidden_lead"].pk)} <= hits


@needs_postgresql
def test_a_word_starts_title_words_with_digits_or_dots_too(rep):
    """The deal query matches the known words a typed word starts exactly (search 0004):
    every word of every title must be known for that, not only the words of letters."""
    DealFactory(title="Renewal", owner=rep)  # known words that start like the others
    DealFactory(title="Harborline crew", owner=rep)
    digits = DealFactory(title="Renewal2031 for the fleet", owner=rep)
    dotted = DealFactory(title="Harborline.example relaunch", owner=rep)
    assert ("deal", digits.pk) in found(rep, "renewal")
    assert ("deal", dotted.pk) in found(rep, "harborl")
    assert ("deal", dotted.pk) in found(rep, "relaunch harbor")


@needs_postgresql
def test_a_common_word_found_among_the_newest_deals_keeps_to_sight_and_misses_none(
    rep, outsider, monkeypatch
):
    """A word PostgreSQL expects in many deals is looked for among the newest deals first
    (a walk that stops at 40); the index query still finds the older ones it missed."""
    monkeypatch.setattr(selectors, "COMMON", 0)  # every word counts as common
    monkeypatch.setattr(selectors, "RECENT_DEALS", 3)
    mine = [DealFactory(title=f"Harvest order {n}", owner=rep) for n in range(5)]
    DealFactory(title="Harvest order, another team's", owner=outsider)
    with CaptureQueriesContext(connection) as captured:
        hits = found(rep, "harvest", types=["deal"])
    assert hits == {("deal", deal.pk) for deal in mine}
    assert any("enable_bitmapscan" in query["sql"] for query in captured)  # the walk ran


def test_a_deal_found_only_through_its_company_stays_hidden_outside_sight(rep, outsider, world):
    DealFactory(title="Other business", owner=outsider, company=world["company"])
    titles = {hit.title for hit in search(user=rep, q="bluepeak")}
    assert "Other business" not in titles


def test_the_type_filter_keeps_one_type(rep, world):
    assert {kind for kind, _ in found(rep, "bluepeak", types=["deal"])} == {"deal"}


def test_under_two_characters_finds_nothing(rep, world):
    assert found(rep, "b") == set()
    assert found(rep, "  ") == set()
    assert found(rep, None) == set()


def test_the_query_count_does_not_grow_with_the_matches(rep, world):
    def queries(q):
        with CaptureQueriesContext(connection) as captured:
            search(user=rep, q=q)
        return len(captured)

    few = queries("Quasar")
    CompanyFactory(name="Quasar Systems", owner=rep)
    for n in range(45):
        contact = ContactFactory(first_name="Quasar", last_name=f"Person{n}", owner=rep)
        DealFactory(title=f"Quasar deal {n}", owner=rep, contact=contact)
        LeadFactory(company_name=f"Quasar prospect {n}", owner=rep)
    many = queries("Quasar")
    assert len(search(user=rep, q="Quasar", limit=50)) == 50
    assert many <= few


def test_without_postgresql_a_part_of_a_word_still_finds(rep, world, monkeypatch):
    """SQLite's fallback: every word contained in one of the fields."""
    monkeypatch.setattr(selectors, "is_postgresql", lambda: False)
    assert ("deal", world["deal"].pk) in found(rep, "lout")
    assert ("contact", world["contact"].pk) in found(rep, "nes moreau")
    assert ("company", world["company"].pk) in found(rep, "epeak")
    assert ("deal", world["hidden_deal"].pk) not in found(rep, "zenith")


@needs_postgresql
@pytest.mark.parametrize("kind", ["deal", "contact", "lead", "company"])
def test_the_full_text_queries_use_the_search_indexes(world, kind):
    """PostgreSQL uses an expression index only for the very same expression: with scans of
    the whole table or of another index ruled out, the plan must use the search's."""
    model = {"deal": selectors.Deal, "contact": selectors.Contact, "lead": selectors.Lead,
             "company": selectors.Company}[kind]  # fmt: skip
    terms = selectors.parse("bluepek foods")
    condition = selectors._fuzzy_match(model, terms, {"bluepek": ["bluepeak"]})
    sql, params = model.objects.filter(condition).order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The deals' index has the owner in front (migration search 0003).
    index = (
        "search_deals_deal_owner_fts" if kind == "deal" else f"search_{model._meta.db_table}_fts"
    )
    assert index in plan, plan


@needs_postgresql
def test_new_names_join_the_known_words_that_correct_typos(rep):
    assert "xylophonics" not in selectors.known_words_near(selectors.parse("xylophonix"))
    company = CompanyFactory(name="Xylophonics Group", owner=rep)
    DealFactory(title="Quarterly vibraphone order", owner=rep)
    near = selectors.known_words_near(selectors.parse("xylophonix vibrafone"))
    assert "xylophonics" in near["xylophonix"]
    assert "vibraphone" in near["vibrafone"]
    company.name = "Marimbatech"
    company.save()
    assert "marimbatech" in selectors.known_words_near(selectors.parse("marimbatek"))["marimbatek"]


@needs_postgresql
def test_the_known_words_are_looked_up_through_their_trigram_index(world):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT word FROM search_word ORDER BY word <-> 'bluepek' LIMIT 3")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "search_word_trgm" in plan, plan


# --- the API and the page -------------------------------------------------------------------------


def test_the_api_lists_results_with_their_pages(api_for, rep, world):
    response = api_for(rep).get("/api/search/", {"q": "Ines Moreau"})
    assert response.status_code == 200
    results = response.json()["results"]
    contact = next(r for r in results if r["type"] == "contact")
    assert contact == {
        "type": "contact", "id": world["contact"].pk, "title": "Ines Moreau",
        "subtitle": "ines.moreau@bluepeak.example · Bluepeak Foods",
        "url": reverse("contact-detail", args=[world["contact"].pk]),
    }  # fmt: skip
    deal = next(r for r in results if r["type"] == "deal")
    assert deal["url"] == reverse("deal-detail", args=[world["deal"].pk])


def test_the_api_answers_401_to_anonymous_callers(api_for, world):
    assert api_for().get("/api/search/", {"q": "bluepeak"}).status_code == 401


def test_the_api_filters_by_type_and_refuses_an_unknown_one(api_for, rep, world):
    client = api_for(rep)
    types = {
        r["type"] for r in client.get("/api/search/?q=bluepeak&type=company").json()["results"]
    }
    assert types == {"company"}
    assert client.get("/api/search/?q=bluepeak&type=planet").status_code == 400


@pytest.mark.parametrize(
    "q",
    ["bl\x00uepeak", "x" * 5000, "'&|!:*()<->", "%_\\", "a", "", "ñandú 東京", "@", ". . .",
     "a:* & b", "' OR 1=1 --", "bluepeak " * 40],
)  # fmt: skip
def test_odd_queries_never_fail(api_for, rep, world, q):
    response = api_for(rep).get("/api/search/", {"q": q})
    assert response.status_code in (200, 400)
    page = signed_in(rep).get(reverse("search"), {"q": q})
    # A NUL byte is refused at the edge for every URL (400); anything else is a results page.
    assert page.status_code == (400 if "\x00" in q else 200)


def test_the_page_groups_results_by_type_with_counts(rep, world):
    html = signed_in(rep).get(reverse("search"), {"q": "bluepeak"}).content.decode()
    assert 'id="search-group-company">Companies <span class="count">1</span>' in html
    assert 'id="search-group-deal">Deals <span class="count">1</span>' in html
    assert reverse("deal-detail", args=[world["deal"].pk]) in html


def test_the_top_bar_dropdown_lists_options_for_the_combobox(rep, world):
    response = signed_in(rep).get(
        reverse("search"),
        {"q": "bluepeak"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="search-suggestions",
    )
    html = response.content.decode()
    assert 'role="listbox"' in html
    assert 'role="option" id="search-option-0"' in html
    assert "<html" not in html


def test_the_search_page_needs_a_signed_in_user(client):
    response = client.get(reverse("search"), {"q": "x"})
    assert response.status_code == 302


@needs_postgresql
def test_a_word_spelled_like_a_known_one_is_not_corrected(rep, world):
    """ "Bluepeak" exists: the search finds Bluepeak, not also its near neighbours."""
    CompanyFactory(name="Bluepeck Labs", owner=rep)
    assert selectors.known_words_near(selectors.parse("Bluepeak")) == {}
    assert "bluepeak" in selectors.known_words_near(selectors.parse("Bluepeik"))["bluepeik"]
