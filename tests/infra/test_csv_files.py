"""Every CSV the app serves goes through pipeline_crm.csv_files: formula text defused."""

import csv
import io
from decimal import Decimal

import pytest

from pipeline_crm.csv_files import csv_text, safe_cell, streaming_csv_response


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_text_a_spreadsheet_would_run_comes_back_as_text(text):
    assert safe_cell(text) == f"'{text}"


def test_plain_text_and_numbers_are_unchanged():
    assert safe_cell("Acme = good") == "Acme = good"
    assert safe_cell(Decimal("-5.00")) == Decimal("-5.00")
    assert safe_cell(None) == ""


def test_a_csv_reads_back_with_the_prefix_and_a_byte_order_mark():
    text = csv_text(["title", "amount"], [["=1+1", Decimal("10.50")], ["line\nbreak", 3]])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["title", "amount"], ["'=1+1", "10.50"], ["line\nbreak", "3"]]


def test_a_streamed_csv_reads_its_rows_only_while_it_is_sent():
    read = []

    def rows():
        for number in range(3):
            read.append(number)
            yield [number]

    response = streaming_csv_response(filename_stem="deals", header=["n"], rows=rows())
    assert read == []
    body = b"".join(response.streaming_content).decode()
    assert read == [0, 1, 2]
    assert body.splitlines()[1:] == ["0", "1", "2"]
    assert 'filename="deals-' in response["Content-Disposition"]


@pytest.mark.parametrize("number", ["-12.50", "-3"])
def test_a_negative_number_written_as_text_stays_a_number(number):
    assert safe_cell(number) == number


def test_a_long_csv_is_sent_in_pieces_of_many_rows_not_one_write_a_row():
    rows = ([n, "some text in a cell"] for n in range(20_000))
    response = streaming_csv_response(filename_stem="big", header=["n", "text"], rows=rows)
    pieces = list(response.streaming_content)
    assert 1 < len(pieces) < 20
    lines = b"".join(pieces).decode().splitlines()
    assert len(lines) == 20_001
    assert lines[-1] == "19999,some text in a cell"
