"""Export test helpers: reading a CSV answer back, and what a spreadsheet would run."""

import csv
import io

import pytest

from pipeline_crm.csv_files import FORMULA_STARTS, PLAIN_NUMBER

# Text a spreadsheet would run as a formula, each put where an exported cell shows it.
EVIL_TITLE = '=HYPERLINK("http://evil","x")'


def read_csv(response):
    """The rows of a CSV answer (streamed or not), header first."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def as_dicts(rows):
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def live_formulas(rows):
    """Cells a spreadsheet would run: a formula start, and neither the ' prefix nor a number."""
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell)
    ]


@pytest.fixture
def csv_rows():
    return read_csv
