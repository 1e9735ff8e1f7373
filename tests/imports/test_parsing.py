"""Real-world CSV files parse: BOM, `;`, quoted newlines, Excel dates, thousands separators."""

import datetime as dt
import io
from decimal import Decimal

import pytest

from imports import parsing


def rows_of(data: bytes):
    binary = io.BytesIO(data)
    return parsing.read_header(binary), list(parsing.read_rows(binary))


def test_a_utf8_file_with_a_byte_order_mark_reads_its_first_header_cleanly():
    header, rows = rows_of("\ufeffFirst name,E-mail\nZoë,zoe@example.com\n".encode())
    assert header == ["First name", "E-mail"]
    assert rows[0].cells == {"First name": "Zoë", "E-mail": "zoe@example.com"}


def test_a_semicolon_file_is_sniffed():
    header, rows = rows_of(b'Name;Amount\n"Acme; Inc";"1.234,50"\n')
    assert header == ["Name", "Amount"]
    assert rows[0].cells == {"Name": "Acme; Inc", "Amount": "1.234,50"}


def test_a_quoted_newline_stays_in_its_cell_and_later_rows_keep_their_numbers():
    _, rows = rows_of(b'Title,Next step\n"Two\nlines",call\nSecond,mail\n')
    assert [(r.number, r.cells["Title"]) for r in rows] == [(2, "Two\nlines"), (3, "Second")]


def test_blank_rows_are_passed_over_but_still_counted():
    _, rows = rows_of(b"Title\nA\n\n,\nB\n")
    assert [(r.number, r.cells["Title"]) for r in rows] == [(2, "A"), (5, "B")]


def test_a_non_utf8_file_is_refused_naming_the_row():
    with pytest.raises(parsing.BadFile, match=r"Row 3: the file is not UTF-8 text \(byte 0xe9\)"):
        rows_of("Name\nAnn\nRené\n".encode("latin-1"))


def test_a_cell_over_the_limit_refuses_its_row_only():
    data = b"Title\nok\n" + b"x" * (10 * 1024 * 1024) + b"\nafter\n"
    _, rows = rows_of(data)
    assert rows[0].cells == {"Title": "ok"}
    assert rows[1].number == 3
    assert rows[1].problem == "A cell of this row is longer than 100,000 characters."
    assert rows[2].cells == {"Title": "after"}


def test_formula_text_is_kept_as_plain_text_and_an_exports_quote_comes_off():
    _, rows = rows_of(b'Title,Other\n=HYPERLINK("http://x"),\'=SUM(A1)\n')
    assert rows[0].cells == {"Title": '=HYPERLINK("http://x")', "Other": "=SUM(A1)"}


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024-03-05T10:00:00", dt.date(2024, 3, 5)),
        ("2024/03/05", dt.date(2024, 3, 5)),
        ("05/03/2024", dt.date(2024, 3, 5)),
        ("5.3.2024", dt.date(2024, 3, 5)),
        ("05-03-2024", dt.date(2024, 3, 5)),
        ("45356", dt.date(2024, 3, 5)),  # Excel's serial number
        ("45356.75", dt.date(2024, 3, 5)),  # with a time of day
    ],
)
def test_dates_in_iso_day_first_and_excel_forms(text, date):
    assert parsing.parse_date(text) == date


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/02/2024", "“31/02/2024” is not a real date."),
        ("March 5", "“March 5” is not a date. Use YYYY-MM-DD, DD/MM/YYYY"),
        ("0", "“0” is not a date."),
    ],
)
def test_bad_dates_say_why(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parsing.parse_date(text)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("1.234,50", Decimal("1234.50")),
        ("1 234", Decimal("1234")),
        ("1\u00a0234,5", Decimal("1234.5")),
        ("1'234.50", Decimal("1234.50")),
        ("1,234,567", Decimal("1234567")),
        ("1.234.567", Decimal("1234567")),
        ("12,5", Decimal("12.5")),
        ("€ 99.90", Decimal("99.90")),
        ("250 EUR", Decimal("250")),
        ("0", Decimal("0")),
    ],
)
def test_amounts_with_thousands_separators(text, amount):
    assert parsing.parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5", "“-5”: an amount cannot be negative."),
        ("(120.00)", "“(120.00)”: an amount cannot be negative."),
        ("- 1,000", "“- 1,000”: an amount cannot be negative."),
        ("ten", "“ten” is not an amount."),
        ("1.234", "“1.234”: an amount has at most 2 decimals."),  # a lone dot is decimal
        ("1.2345", "“1.2345”: an amount has at most 2 decimals."),
    ],
)
def test_negative_and_malformed_amounts_are_refused(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parsing.parse_amount(text)
