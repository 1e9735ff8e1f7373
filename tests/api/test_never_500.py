"""Whatever JSON a client sends, the API answers a 2xx or a 4xx, never a 500; abuse is throttled."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.factories import DealFactory, LeadFactory

pytestmark = pytest.mark.django_db

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(["", "1", "-1", "1e400", "0.001", "2030-02-30", "NaN", "\x00", "x" * 10_000]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
DEAL_FIELDS = [
    "title", "pipeline", "stage", "status", "amount", "currency", "expected_close_date",
    "probability_override", "owner", "company", "contact", "lead", "next_step", "version",
]  # fmt: skip
LEAD_FIELDS = [
    "first_name", "email", "company_name", "source", "status", "budget", "authority", "timeline",
    "owner", "need",
]  # fmt: skip


def payloads(fields):
    return st.dictionaries(st.sampled_from(fields), json_values, max_size=5)


FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,  # no example database left in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(body=payloads(DEAL_FIELDS))
def test_any_deal_create_or_patch_answers_without_a_server_error(rep, api_for, body):
    client = api_for(rep)
    created = client.post("/api/deals/", body, format="json")
    assert created.status_code < 500, created.content
    deal = DealFactory(owner=rep)
    patched = client.patch(f"/api/deals/{deal.pk}/", body, format="json")
    assert patched.status_code < 500, patched.content


@FUZZ
@given(body=payloads(["stage", "version", "position", "values", "amount", "reason"]))
def test_any_move_won_or_lost_answers_without_a_server_error(rep, api_for, body):
    client = api_for(rep)
    deal = DealFactory(owner=rep)
    for action in ("move", "won", "lost"):
        response = client.post(f"/api/deals/{deal.pk}/{action}/", body, format="json")
        assert response.status_code < 500, (action, response.content)


@FUZZ
@given(body=payloads(LEAD_FIELDS))
def test_any_lead_create_or_convert_answers_without_a_server_error(rep, api_for, body):
    client = api_for(rep)
    assert client.post("/api/leads/", body, format="json").status_code < 500
    lead = LeadFactory(owner=rep)
    assert client.post(f"/api/leads/{lead.pk}/convert/", body, format="json").status_code < 500


def test_guessing_passwords_at_the_token_endpoint_is_throttled(rep, settings):
    settings.AXES_ENABLED = False  # the lockout (tests/accounts/test_login_lockout.py) comes first
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]  # e.g. "60/minute"
    limit = int(rate.split("/")[0])
    if limit > 300:
        pytest.skip(f"anonymous throttle set high ({rate}) for this run")
    client = APIClient()
    codes = [
        client.post("/api/auth/token/", {"username": "rep", "password": f"guess-{i}"}).status_code
        for i in range(limit + 1)
    ]
    assert set(codes[:limit]) == {400}
    assert codes[-1] == 429


def test_rotating_x_forwarded_for_does_not_escape_the_token_throttle(rep, settings):
    settings.AXES_ENABLED = False  # the throttle alone, not the lockout
    assert settings.NUM_PROXIES == 0
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]
    limit = int(rate.split("/")[0])
    if limit > 300:
        pytest.skip(f"anonymous throttle set high ({rate}) for this run")
    codes = [
        APIClient()
        .post(
            "/api/auth/token/",
            {"username": "rep", "password": f"guess-{i}"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i % 250}",
        )
        .status_code
        for i in range(limit + 1)
    ]
    assert codes[-1] == 429
