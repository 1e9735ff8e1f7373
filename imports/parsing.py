"""Reading an uploaded CSV as the spreadsheets people have write it, one row at a time.

- Encoding: UTF-8, with or without a byte order mark (Excel's "CSV UTF-8" writes one). Anything
  else is refused for the whole file, naming the row where undecodable bytes were met.
- Separator: `,` or `;` (Excel in much of Europe), sniffed from the header line.
- Quoted cells may hold separators, quotes (`""`) and newlines. A row number is the spreadsheet
  row (the header is row 1), so a quoted newline does not shift the rows after it.
- Cells are trimmed. A cell over `MAX_CELL_CHARS` characters refuses its row.
- Formula-looking text (`=SUM(A1)`) is stored as plain text, never evaluated; the `'` that this
  app's own exports put before such text (`pipeline_crm.csv_files`) is taken off again.

Values (`parse_date`, `parse_amount`, …) raise `ValueError` with the message the row error shows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from pipeline_crm.csv_files import FORMULA_STARTS
from pipeline_crm.errors import DomainError

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 500_000
MAX_CELL_CHARS = 100_000
# How much of the file is read to find the header line and its separator.
SNIFF_BYTES = 64 * 1024

csv.field_size_limit(MAX_CELL_CHARS)


class FileTooLarge(DomainError):
    """Over the size or row limit: 413 with the limit."""

    http_status = 413
    code = "too_large"


class BadFile(DomainError):
    """The file as a whole cannot be read (not UTF-8, no header)."""

    code = "bad_file"

    def __init__(self, message: str, *, row: int = 1) -> None:
        super().__init__(message, field="file")
        self.row = row


@dataclass(frozen=True)
class Row:
    """One data row: its spreadsheet number and its cells by header, or why it is unreadable."""

    number: int
    cells: dict[str, str]
    problem: str = ""


def size_limit_message() -> str:
    return f"The file is too large: an import accepts at most {MAX_FILE_BYTES // 2**20} MB."


def rows_limit_message() -> str:
    return f"The file has too many rows: an import accepts at most {MAX_ROWS:,} rows."


def count_lines(binary: IO[bytes]) -> int:
    """Newlines in the file: an upper bound of its rows (quoted newlines count too), fast."""
    binary.seek(0)
    count = 0
    while chunk := binary.read(1024 * 1024):
        count += chunk.count(b"\n")
    binary.seek(0)
    return count


def check_limits(binary: IO[bytes], size: int) -> int:
    """Refuse (413) a file over the size or row limit; returns an upper bound of its rows."""
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(size_limit_message(), field="file")
    lines = count_lines(binary)
    if lines > MAX_ROWS:  # counted properly only when the quick count says it might be over
        rows = sum(1 for _ in _records(binary))
        if rows - 1 > MAX_ROWS:
            raise FileTooLarge(rows_limit_message(), field="file")
        binary.seek(0)
    return lines


def _sniff_delimiter(binary: IO[bytes]) -> str:
    start = binary.read(SNIFF_BYTES)
    binary.seek(0)
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(start)
    header = text.split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _lines(binary: IO[bytes]) -> Iterator[str]:
    """The file's lines decoded one by one (so an undecodable byte is found on its row)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    for raw in binary:
        yield decoder.decode(raw)
    yield decoder.decode(b"", final=True)


def _records(binary: IO[bytes]) -> Generator[list[str]]:
    """The file's CSV records, streamed, raising `BadFile` on bytes that are not UTF-8."""
    delimiter = _sniff_delimiter(binary)
    reader = csv.reader(_lines(binary), delimiter=delimiter)
    number = 0
    try:
        while True:
            number += 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield [_TOO_LONG if "field larger" in str(exc) else f"{_BROKEN}{exc}"]
                continue
            yield record
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"Row {number}: the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}). "
            "Save it as “CSV UTF-8” and upload it again.",
            row=number,
        ) from exc


_TOO_LONG = "\x00too-long"
_BROKEN = "\x00broken:"


def clean_cell(value: str) -> str:
    """Trimmed; a `'` put before formula text by a CSV export is taken off again."""
    value = value.strip()
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def read_header(binary: IO[bytes]) -> list[str]:
    """The header row's names (trimmed), refusing a file without one or with a name twice."""
    binary.seek(0)
    records = _records(binary)
    try:
        header = next(records, None)
    finally:
        records.close()
    binary.seek(0)
    names = [clean_cell(name) for name in header or []]
    if not any(names) or (header and header[0].startswith("\x00")):
        raise BadFile("The file is empty or has no header row.")
    seen: set[str] = set()
    for name in names:
        if name and name.lower() in seen:
            raise BadFile(f"The column “{name}” appears twice in the header row.")
        seen.add(name.lower())
    return names


def read_rows(binary: IO[bytes]) -> Iterator[Row]:
    """Every data row after the header, streamed. Blank rows are passed over (their numbers
    still count); a row that cannot be read carries its `problem`."""
    binary.seek(0)
    records = _records(binary)
    header = [clean_cell(name) for name in next(records, [])]
    for index, record in enumerate(records, start=2):
        if record and record[0].startswith("\x00"):
            yield Row(index, {}, _record_problem(record[0]))
            continue
        if not any(cell.strip() for cell in record):
            continue
        extra = [cell for cell in record[len(header) :] if cell.strip()]
        if extra:
            yield Row(
                index, {}, f"This row has {len(record)} cells; the header names {len(header)}."
            )
            continue
        yield Row(
            index,
            {name: clean_cell(cell) for name, cell in zip(header, record, strict=False) if name},
        )


def _record_problem(marker: str) -> str:
    if marker == _TOO_LONG:
        return f"A cell of this row is longer than {MAX_CELL_CHARS:,} characters."
    return f"This row cannot be read as CSV ({marker.removeprefix(_BROKEN)})."


def preview_rows(binary: IO[bytes], count: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first `count` data rows (cells in header order)."""
    header = read_header(binary)
    rows: list[list[str]] = []
    for row in read_rows(binary):
        if len(rows) >= count:
            break
        rows.append([row.cells.get(name, "") for name in header])
    binary.seek(0)
    return header, rows


# --- values -----------------------------------------------------------------------------------

# Excel stores a date as the days since 1899-12-30 (its serial number).
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_SERIAL_MAX = 2_958_465  # 9999-12-31
# (pattern, order of its year, month and day groups): ISO first, then day-first forms as
# written outside the US.
DATE_FORMATS = (
    (re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ].*)?"), (1, 2, 3)),
    (re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})"), (4, 3, 1)),
)
EXCEL_SERIAL = re.compile(r"\d{1,7}(\.\d+)?")
DATE_HELP = "Use YYYY-MM-DD, DD/MM/YYYY, DD.MM.YYYY, DD-MM-YYYY or an Excel date number."


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date:
    """A date as ISO `YYYY-MM-DD` (a time after it is ignored), `YYYY/MM/DD`, day-first
    `DD/MM/YYYY`, `DD.MM.YYYY`, `DD-MM-YYYY`, or an Excel serial number (`45292` or
    `45292.5`)."""
    value = text.strip()
    if EXCEL_SERIAL.fullmatch(value):
        serial = int(Decimal(value))
        if not 1 <= serial <= EXCEL_SERIAL_MAX:
            raise ValueError(f"“{text}” is not a date. {DATE_HELP}")
        return EXCEL_EPOCH + dt.timedelta(days=serial)
    for pattern, (year, month, day) in DATE_FORMATS:
        found = pattern.fullmatch(value)
        if found:
            try:
                return dt.date(int(found[year]), int(found[month]), int(found[day]))
            except ValueError:
                raise ValueError(f"“{text}” is not a real date.") from None
    raise ValueError(f"“{text}” is not a date. {DATE_HELP}")


_AMOUNT_NOISE = re.compile(r"[\s\u00a0\u202f'’]")


@functools.lru_cache(maxsize=4096)
def parse_amount(text: str) -> Decimal:
    """A non-negative amount with at most 2 decimals. Thousands separators are read as written:
    `1,234.50`, `1.234,50`, `1 234`, `1'234`. With both `,` and `.` the last is the decimal
    mark; with one of them only, it is a thousands separator when it appears more than once
    or (`,`) is followed by exactly three digits, else the decimal mark. A currency symbol or
    code around the number is ignored."""
    value = _AMOUNT_NOISE.sub("", text)
    value = re.sub(r"^[^\d\-(.,]+|[^\d).,]+$", "", value)  # €, $, EUR…
    if value.startswith(("-", "(")) or value.endswith("-"):
        raise ValueError(f"“{text}”: an amount cannot be negative.")
    if not re.fullmatch(r"[\d.,]+", value) or not re.search(r"\d", value):
        raise ValueError(f"“{text}” is not an amount.")
    value = _normalise_separators(value)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"“{text}” is not an amount.") from None
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"“{text}”: an amount has at most 2 decimals.")
    if amount >= Decimal("1e12"):
        raise ValueError(f"“{text}” is too large an amount.")
    return amount


def _normalise_separators(value: str) -> str:
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        return value.replace(thousands, "").replace(decimal_mark, ".")
    for mark in (",", "."):
        if mark in value:
            _, _, tail = value.rpartition(mark)
            if value.count(mark) > 1 or (mark == "," and len(tail) == 3):
                return value.replace(mark, "")
            return value.replace(",", ".")
    return value


def parse_percent(text: str) -> int:
    value = text.strip().removesuffix("%").strip()
    if not re.fullmatch(r"\d{1,3}", value) or int(value) > 100:
        raise ValueError(f"“{text}” is not a whole percentage from 0 to 100.")
    return int(value)


TRUE_WORDS = frozenset({"yes", "y", "true", "1", "x", "ja", "oui", "si", "sí"})
FALSE_WORDS = frozenset({"no", "n", "false", "0", "nein", "non"})


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"“{text}” is not yes or no.")


@functools.lru_cache(maxsize=65536)
def parse_email(text: str) -> str:
    value = text.strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"“{text}” is not an e-mail address.") from None
    return value


@functools.lru_cache(maxsize=65536)
def parse_domain(text: str) -> str:
    """A company's web domain, lower case, from `example.com`, `www.example.com` or a URL."""
    value = re.sub(r"^[a-z]+://", "", text.strip().lower()).split("/", 1)[0]
    value = value.removeprefix("www.")
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", value):
        raise ValueError(f"“{text}” is not a web domain.")
    return value


def parse_currency(text: str) -> str:
    value = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(f"“{text}” is not a three-letter currency code.")
    return value
