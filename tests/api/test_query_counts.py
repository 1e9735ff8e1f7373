"""A page of any list costs the same number of queries whatever the size of the table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ContactFactory, LeadFactory, UserFactory, bulk_deals

pytestmark = pytest.mark.django_db

# Token/session user, its groups (role), the count, the page.
DEAL_LIST_MAX_QUERIES = 4


def token_client(user):
    """A client as a script uses it: every request authenticates afresh (no cached user)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.json()


@pytest.mark.parametrize("viewer", ["rep", "manager", "admin"])
def test_the_deal_list_costs_the_same_queries_for_20_and_2000_deals(
    viewer, people, django_assert_max_num_queries, capsys
):
    owners = [people["rep"], people["teammate"]]
    client = token_client(people[viewer])

    bulk_deals(owners, 20)
    small, small_body = queries_for(client, "/api/deals/")
    bulk_deals(owners, 1980)
    with django_assert_max_num_queries(DEAL_LIST_MAX_QUERIES):
        large, large_body = queries_for(client, "/api/deals/?status=open&q=Bulk")

    assert small_body["count"] == 20
    assert large_body["count"] == 2000
    assert len(large_body["results"]) == 50
    assert small == large
    with capsys.disabled():
        print(f"\nGET /api/deals/ as {viewer}: {small} queries for 20 deals, {large} for 2,000")


def test_other_lists_do_not_grow_with_their_rows(people, django_assert_max_num_queries):
    client = token_client(people["rep"])
    ContactFactory.create_batch(3, owner=people["rep"], company=None)
    LeadFactory.create_batch(3, owner=people["rep"])
    baseline = {url: queries_for(client, url)[0] for url in ("/api/contacts/", "/api/leads/")}
    users_before = queries_for(client, "/api/users/")[0]

    ContactFactory.create_batch(30, owner=people["rep"], company=None)
    LeadFactory.create_batch(30, owner=people["rep"])
    UserFactory.create_batch(10, role="rep")
    for url, count in baseline.items():
        with django_assert_max_num_queries(count):
            client.get(url)
    with django_assert_max_num_queries(users_before):
        client.get("/api/users/")
