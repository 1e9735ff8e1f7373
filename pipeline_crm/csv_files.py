"""Every CSV the app serves: formula-safe cells, written row by row into a streamed response.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (CSV injection: `=HYPERLINK(...)` in a deal title would come back live). Such text is
prefixed with `'`, which spreadsheets show as plain text. Numbers pass unchanged: `-5` is a
number to a spreadsheet, not a formula, and a prefix would turn it into text.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a file as UTF-8 only when it starts with a byte order mark.
BYTE_ORDER_MARK = "\ufeff"


def safe_cell(value: Any) -> Any:
    """The value as it goes into a CSV cell: text that a spreadsheet would run is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _LineBuffer:
    """A file-like target for csv.writer that hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then one formula-safe CSV line per row, produced as the rows are read."""
    writer = csv.writer(_LineBuffer())
    yield BYTE_ORDER_MARK + writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole (small) CSV as one string, with the same safe cells as a streamed one."""
    return "".join(csv_lines(header, rows))


def attachment_name(stem: str) -> str:
    """`<stem>-<today>.csv`, the name every download gets."""
    return f"{stem}-{timezone.localdate().isoformat()}.csv"


def streaming_csv_response(
    *, filename_stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A download that writes each row as it is read: memory stays flat however many rows.

    Pass `rows` as a lazy iterable (a queryset's `.iterator(chunk_size=...)`, a generator), so
    the rows are never all in memory at once.
    """
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{attachment_name(filename_stem)}"'
    return response
