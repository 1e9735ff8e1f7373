"""Bad files: each problem is named on its spreadsheet row and column, and an all-or-nothing
commit writes nothing."""

import pytest

from contacts.models import Company, Contact
from deals.models import Deal
from imports.models import Import

pytestmark = pytest.mark.django_db

TEN_MB = "x" * (10 * 1024 * 1024)


def counts():
    return Deal.objects.count(), Contact.objects.count(), Company.objects.count()


BAD_FILES = {
    "bad dates": (
        "deals",
        "Title,Expected close date\nGood,2024-05-01\nFeb,31/02/2024\nWords,next week\n",
        [
            (3, "Expected close date", "“31/02/2024” is not a real date."),
            (
                4,
                "Expected close date",
                "“next week” is not a date. Use YYYY-MM-DD, DD/MM/YYYY, DD.MM.YYYY, "
                "DD-MM-YYYY or an Excel date number.",
            ),
        ],
    ),
    "negative amounts": (
        "deals",
        'Title,Amount\nRefund,"-1,000.00"\nFine,"1,000.00"\nBracketed,(20)\n',
        [
            (2, "Amount", "“-1,000.00”: an amount cannot be negative."),
            (4, "Amount", "“(20)”: an amount cannot be negative."),
        ],
    ),
    "duplicate rows": (
        "contacts",
        "First name,E-mail\nAnn,ann@example.com\nBob,bob@example.com\nAnn,ANN@example.com\n",
        [(4, "E-mail", "Row 2 has the same e-mail.")],
    ),
    "one 10 MB line": (
        "deals",
        f"Title,Next step\nFirst,call\nHuge,{TEN_MB}\nLast,mail\n",
        [(3, "", "A cell of this row is longer than 100,000 characters.")],
    ),
    "formula cells": (
        "deals",
        'Title,Amount\n"=HYPERLINK(""http://evil.example"")",10\nSum,=1+2\n',
        [(3, "Amount", "“=1+2” is not an amount.")],
    ),
    "unknown stage and owner": (
        "deals",
        "Title,Stage,Owner\nA,Negotiation,\nB,Nowhere,\nC,,nobody\n",
        [
            (3, "Stage", "Pipeline “Sales” has no stage “Nowhere”."),
            (4, "Owner", "There is no active user “nobody”."),
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_names_each_bad_row_and_all_or_nothing_writes_nothing(
    case, manager, team_a, upload, commit
):
    kind, text, expected = BAD_FILES[case]
    before = counts()

    answer = upload(manager, kind, text)

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["status"] == "ready"
    assert [(e["row"], e["column"], e["message"]) for e in body["errors"]] == expected
    assert body["error_rows"] == len(expected)
    assert body["valid_rows"] == body["total_rows"] - len(expected)
    refused = commit(manager, body["id"], mode="all_or_nothing")
    assert refused.status_code == 400
    assert f"{len(expected)} rows have errors, so nothing was imported" in refused.json()["detail"]
    assert counts() == before
    assert Import.objects.get(pk=body["id"]).status == "ready"


def test_a_file_that_is_not_utf8_fails_naming_the_row_and_cannot_be_committed(
    manager, team_a, upload, commit
):
    text = "First name,E-mail\nAnn,ann@example.com\nRené,rene@example.com\n".encode("latin-1")

    body = upload(manager, "contacts", text).json()

    assert body["status"] == "failed"
    message = (
        "Row 3: the file is not UTF-8 text (byte 0xe9). Save it as “CSV UTF-8” and upload it again."
    )
    assert body["failure"] == message
    assert body["errors"] == [{"row": 3, "column": "", "message": message}]
    assert commit(manager, body["id"], mode="valid_rows").status_code == 400
    assert Contact.objects.count() == 0


def test_a_file_without_a_required_column_is_refused_at_once(manager, team_a, upload):
    answer = upload(manager, "deals", "Name,Amount\nAcme,10\n")

    assert answer.status_code == 400
    assert answer.json()["detail"] == "The file has no column for the required field: Title."
    assert not Import.objects.exists()


def test_a_mapping_can_name_the_required_column(manager, team_a, upload, commit):
    answer = upload(manager, "deals", "Name,Amount\nAcme,10\n", mapping='{"Name": "title"}')

    assert answer.status_code == 201
    assert commit(manager, answer.json()["id"]).json()["created"] == 1
    assert Deal.objects.get().title == "Acme"


def test_formula_text_is_stored_as_plain_text_and_defused_in_the_error_report(
    manager, team_a, upload, commit, api_for
):
    kind, text, _ = BAD_FILES["formula cells"]
    body = upload(manager, kind, text + "=cmd|' /C calc'!A0,5\n").json()

    commit(manager, body["id"], mode="valid_rows")

    titles = set(Deal.objects.values_list("title", flat=True))
    assert titles == {'=HYPERLINK("http://evil.example")', "=cmd|' /C calc'!A0"}
    report = api_for(manager).get(f"/api/imports/{body['id']}/errors.csv")
    lines = b"".join(report.streaming_content).decode().splitlines()
    assert lines[1] == "3,Amount,“=1+2” is not an amount."
