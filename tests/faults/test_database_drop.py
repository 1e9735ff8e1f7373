"""The database connection dropped in the middle of a request (issue 11, point 6; PostgreSQL).

A move is paused between two of its writes (crash point "deals.move.entered": its StageChange
row written, the deal not yet saved), the test ends that PostgreSQL session with
pg_terminate_backend, the move goes on and fails. The client gets a clean 503 "try again",
nothing of the move is left behind, and the next request works.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client
from rest_framework.authtoken.models import Token

from deals.models import ColumnTotal, Deal, StageChange
from tests.factories import DealFactory, stage_named
from tests.jobs.processes import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_terminate_backend: PostgreSQL ends a session; SQLite has none to end",
    ),
]

CSRF = "faultsfaultsfaultsfaultsfaults00"  # any 32 letters and digits: cookie and header agree


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body


def http(url: str, *, json_body: object = None, form: str | None = None, **headers: str) -> Answer:
    """POST (a JSON or form body) or GET `url`; any status comes back as an Answer."""
    body = None
    if json_body is not None:
        body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif form is not None:
        body, headers["Content-Type"] = form.encode(), "application/x-www-form-urlencoded"
    # Only http:// URLs of the live server, never a file: or custom scheme.
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode())


@pytest.fixture
def paused_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The next move pauses after its first writes until the test lets it go on."""
    barrier = tmp_path / "paused"
    monkeypatch.setenv("CRM_PAUSE_AT", "deals.move.entered")
    monkeypatch.setenv("CRM_PAUSE_FILE", str(barrier))
    monkeypatch.setenv("CRM_PAUSE_SECONDS", "60")
    return barrier


def cut_the_paused_request(barrier: Path) -> None:
    """End the PostgreSQL session of the paused request (the only one inside a transaction)."""
    wait_for(barrier.exists, timeout=60, what="the move to reach its crash point")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%%'"
        )
        assert [row[0] for row in cursor.fetchall()] == [True]
    barrier.with_name(barrier.name + ".go").touch()


def during_the_cut(barrier: Path, request) -> Answer:
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(request)
        cut_the_paused_request(barrier)
        return answer.result(timeout=60)


def totals() -> list[tuple[int, int]]:
    return sorted(ColumnTotal.objects.values_list("stage_id", "deals"))


@pytest.fixture
def deal(rep, team_a) -> Deal:
    return DealFactory(owner=rep, stage=stage_named("Prospecting"), amount=1000)


def test_a_board_move_cut_off_from_the_database_answers_try_again_and_leaves_nothing(
    live_server, paused_move, rep, deal
):
    browser = Client()
    browser.force_login(rep)
    cookies = f"sessionid={browser.cookies['sessionid'].value}; csrftoken={CSRF}"
    target = stage_named("Qualification")
    before = totals()

    def move() -> Answer:
        return http(
            f"{live_server.url}/deals/{deal.pk}/move/",
            form=f"stage={target.pk}&version=1",
            Cookie=cookies,
            **{"X-CSRFToken": CSRF, "HX-Request": "true"},
        )

    answer = during_the_cut(paused_move, move)

    assert answer.status == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.headers["Content-Type"].startswith("text/plain")  # app.js shows it as a toast
    assert "nothing was saved" in answer.body
    assert "Traceback" not in answer.body
    deal.refresh_from_db()
    assert (deal.stage_id, deal.version) == (stage_named("Prospecting").pk, 1)
    assert not StageChange.objects.filter(deal=deal).exists()  # written, then rolled back
    assert totals() == before

    again = move()  # the next request gets a working connection; the move goes through
    assert again.status == 200, again.body
    deal.refresh_from_db()
    assert (deal.stage_id, deal.version) == (target.pk, 2)


def test_an_api_move_cut_off_from_the_database_answers_json_503(live_server, paused_move, deal):
    token = Token.objects.create(user=deal.owner).key
    url = f"{live_server.url}/api/deals/{deal.pk}/move/"
    payload = {"stage": stage_named("Qualification").pk, "version": 1}

    answer = during_the_cut(
        paused_move, lambda: http(url, json_body=payload, Authorization=f"Token {token}")
    )

    assert answer.status == 503
    assert answer.headers["Content-Type"] == "application/json"
    assert "try again" in json.loads(answer.body)["detail"]
    assert not StageChange.objects.filter(deal=deal).exists()
    again = http(url, json_body=payload, Authorization=f"Token {token}")
    assert again.status == 200, again.body
    assert json.loads(again.body)["version"] == 2


def test_a_connection_the_server_dropped_between_requests_is_replaced_before_use(rep):
    """CONN_HEALTH_CHECKS: a kept-alive connection (CONN_MAX_AGE) that PostgreSQL ended while
    idle (a restart, a failover) is checked at the start of the next request, not failed on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        old_pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [old_pid])

    close_old_connections()  # what Django does as each request starts
    assert Deal.objects.filter(owner=rep).count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid
