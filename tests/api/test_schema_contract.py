"""What the schema promises about errors and links, and the answers that keep it true."""

import pytest
from rest_framework.test import APIClient

from tests.factories import ActivityFactory

pytestmark = pytest.mark.django_db

SCHEMA_ACCEPT = "application/vnd.oai.openapi+json"


@pytest.fixture
def paths():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT=SCHEMA_ACCEPT)
    return response.json()["paths"]


def test_every_operation_documents_its_errors_with_a_body(paths):
    for path, item in paths.items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)
            if "{id}" in path:
                assert "404" in responses, (method, path)
            for code, response in responses.items():
                if code >= "400":
                    assert "application/json" in response["content"], (method, path, code)
    deal_update = paths["/api/deals/{id}/"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409"} <= set(deal_update)
    field_errors = paths["/api/deals/"]["post"]["responses"]["400"]["content"]["application/json"]
    assert field_errors["schema"] == {"$ref": "#/components/schemas/FieldErrors"}


def test_a_create_links_to_the_operations_on_the_record_it_made(paths):
    links = paths["/api/deals/"]["post"]["responses"]["201"]["links"]
    by_operation = {link["operationId"]: link["parameters"] for link in links.values()}
    for operation_id in ("deals_retrieve", "deals_partial_update", "deals_destroy"):
        assert by_operation[operation_id] == {"id": "$response.body#/id"}
    assert "deals_move_create" in by_operation


def test_an_unknown_api_address_answers_json_404(api_for, rep):
    response = api_for(rep).get("/api/deals/1.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_address_keeps_the_html_404(client, rep):
    client.force_login(rep)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_yes_no_filter_refuses_what_is_neither(api_for, rep):
    ActivityFactory(owner=rep, done_at=None)
    api = api_for(rep)
    refused = api.get("/api/activities/?done=maybe")
    assert refused.status_code == 400
    assert "done" in refused.json()
    assert api.get("/api/activities/?done=false").json()["count"] == 1
    assert api.get("/api/activities/?done=1").json()["count"] == 0
    assert api.get("/api/activities/?done=").json()["count"] == 1


def test_a_csv_list_refuses_a_page_number_that_is_none(api_for, rep):
    api = api_for(rep)
    assert api.get("/api/activities/?format=csv&page=true").status_code == 404
    assert api.get("/api/activities/?format=csv&page=2").status_code == 200


def test_a_multipart_body_without_a_readable_part_is_refused(api_for, rep):
    activity = ActivityFactory(owner=rep, subject="Call back")
    boundary = "b0undary"
    response = api_for(rep).generic(
        "PATCH",
        f"/api/activities/{activity.pk}/",
        f"--{boundary}\r\nFalse--{boundary}--\r\n",
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400
    assert "no readable part" in response.json()["detail"]
    form = api_for(rep).patch(
        f"/api/activities/{activity.pk}/", {"subject": "Call again"}, format="multipart"
    )
    assert form.status_code == 200
    assert form.json()["subject"] == "Call again"
