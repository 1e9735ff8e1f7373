"""Uploading CSV text through the API as a user would, files kept in a temporary MEDIA_ROOT."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def csv_file(text: str | bytes, name: str = "import.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def upload(api_for):
    """upload(user, kind, text, **form) -> the API's answer to POST /api/imports/."""

    def send(user, kind, text, **form):
        data = {"file": csv_file(text), "kind": kind, **form}
        return api_for(user).post("/api/imports/", data, format="multipart")

    return send


@pytest.fixture
def commit(api_for):
    def send(user, import_id, mode="valid_rows"):
        return api_for(user).post(
            f"/api/imports/{import_id}/commit/", {"mode": mode}, format="json"
        )

    return send
