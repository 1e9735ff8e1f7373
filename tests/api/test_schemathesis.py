"""Schemathesis against /api/schema/: what the API answers is what its schema says.

The schema is loaded from the Django WSGI app in-process (no server) and every operation is
called with generated input, as an admin and as a rep, with every check on (but one, below):
no 500, only documented status codes and content types, bodies that match their response
schemas. The stateful run follows the schema's links (create → read / update / delete the
record it made).
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

SCHEMA_PATH = "/api/schema/"
# SCHEMATHESIS_DEEP=1: more examples and the coverage phase (boundary and missing values of
# every parameter); minutes rather than one, for a run by hand.
DEEP = os.environ.get("SCHEMATHESIS_DEEP") == "1"
MAX_EXAMPLES = 25 if DEEP else 5
STATEFUL_EXAMPLES = 100 if DEEP else 20


@pytest.fixture
def same_connection():
    """Requests run in the test's transaction: Django's WSGI handler would otherwise close
    the connection at each request's end (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 1,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "with-security-parameters": False,
            },
            # Every check, but one: a schema-valid create may still name a record that does
            # not exist or break a rule across fields (a lead needs a name, a company or an
            # e-mail); 400 is the right answer there, not the "accepted" that check expects.
            "checks": {"enabled": True, "positive_data_acceptance": {"enabled": False}},
            "phases": {
                "coverage": {"enabled": DEEP},
                # The stateful run follows the schema's own links (pipeline_crm.openapi), not
                # links Schemathesis would guess.
                "stateful": {"inference": {"algorithms": []}},
            },
        }
    )


schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application(), config=_config())


@pytest.fixture(params=["admin", "rep"])
def auth_headers(request, same_connection):
    user = request.getfixturevalue({"admin": "admin_user", "rep": "rep"}[request.param])
    token = Token.objects.create(user=user)
    return {"Authorization": f"Token {token.key}"}


@schema.parametrize()
@hypothesis_settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_as_documented(case, auth_headers):
    case.call_and_validate(headers=auth_headers)


def test_created_records_are_read_changed_and_deleted_through_the_links(auth_headers):
    followed: list[str] = []
    created: dict[str, set[int]] = {}

    class Scenario(schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the same records: Hypothesis replays scenarios and
            # needs the same answers to the same steps.
            self.scenario = transaction.atomic()
            self.scenario.__enter__()
            cache.clear()  # throttle counts

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": auth_headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The headers as the checks' own: the token is ours, not a generated (invalid) one.
            case.validate_response(response, headers=auth_headers, transport_kwargs=kwargs)

        def after_call(self, response, case):
            path = case.operation.path
            json = "json" in response.headers.get("content-type", [""])[0]
            if case.method == "POST" and response.status_code == 201 and json:
                created.setdefault(path, set()).add(response.json()["id"])
            record = case.path_parameters.get("id") if case.path_parameters else None
            parent = path.split("{id}")[0]
            if record in created.get(parent, ()) and response.status_code < 300:
                followed.append(f"{case.method} {path}")

    Scenario.run(
        settings=hypothesis_settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            # No shrinking: a replay would meet the records earlier steps left in the database.
            phases=[Phase.explicit, Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert followed, "no link from a create was followed to a 2xx"
