"""The company page in a real browser: a call logged on one of its deals shows on the
company's timeline; the kind filter and "Load more" swap in place (htmx), under the strict CSP."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups.models import Activity
from tests.factories import CompanyFactory, ContactFactory, DealFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_deals_activity_shows_on_its_companys_timeline(open_page):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    company = CompanyFactory(name="Acme", owner=rep)
    contact = ContactFactory(first_name="Ann", company=company, owner=rep)
    deal = DealFactory(title="Acme renewal", owner=rep, contact=contact, company=None)
    long_ago = timezone.now() - dt.timedelta(days=90)
    for index in range(30):
        Activity.objects.create(
            kind="note",
            subject=f"Old note {index}",
            owner=rep,
            company=company,
            done_at=long_ago + dt.timedelta(minutes=index),
        )
    Activity.objects.create(
        kind="call", subject="Talked renewal terms", owner=rep, deal=deal, done_at=timezone.now()
    )

    page = open_page(rep, f"/companies/{company.pk}/")
    entries = page.locator("#timeline-entries > li.activity")
    expect(entries.first).to_contain_text("Talked renewal terms")
    expect(entries.first).to_contain_text("Acme renewal")
    expect(entries).to_have_count(25)

    page.get_by_role("link", name="Load more").click()
    expect(entries).to_have_count(31)
    expect(entries.last).to_contain_text("Old note 0")

    page.locator(".timeline-filter").get_by_role("link", name="Call").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Talked renewal terms")
    assert page.errors == []
