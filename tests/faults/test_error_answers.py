"""What an unexpected error answers (pipeline_crm.error_answers, the handler500): never a
traceback; 503 "try again" when the database connection was lost, JSON under /api/, plain text
for htmx (shown as a toast), a short page otherwise."""

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from pipeline_crm.error_answers import server_error


def answer_to(error: Exception, path: str, **headers: str):
    request = RequestFactory().get(path, headers=headers)
    try:
        raise error
    except Exception:  # handler500 is called while the exception is being handled
        return server_error(request)


@pytest.mark.parametrize(
    ("path", "headers", "content_type"),
    [
        ("/api/deals/1/move/", {}, "application/json"),
        ("/deals/1/move/", {"HX-Request": "true"}, "text/plain; charset=utf-8"),
        ("/board/", {}, "text/html; charset=utf-8"),
    ],
)
def test_a_lost_database_connection_answers_503_try_again(path, headers, content_type):
    response = answer_to(OperationalError("server closed the connection"), path, **headers)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == content_type
    body = response.content.decode()
    assert "try again" in body
    assert "server closed the connection" not in body  # nothing of the error itself


def test_any_other_error_answers_500_without_its_details():
    page = answer_to(KeyError("secret_column"), "/board/")
    api = answer_to(KeyError("secret_column"), "/api/deals/")

    assert (page.status_code, api.status_code) == (500, 500)
    assert "secret_column" not in page.content.decode()
    assert "Traceback" not in page.content.decode()
    assert json.loads(api.content) == {
        "detail": "Something went wrong on our side. Please try again."
    }
    assert not page.has_header("Retry-After")
