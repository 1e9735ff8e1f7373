"""Every CSV the app serves: formula-safe cells, written row by row into a streamed response.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (CSV injection: `=HYPERLINK(...)` in a deal title would come back live). Such text is
prefixed with `'`, which spreadsheets show as plain text. Numbers pass unchanged: `-5` is a
number to a spreadsheet, not a formula, and a prefix would turn it into text (so does a plain
number written as text, such as the API's money "-12.50").

Pages and API lists answer `?format=csv` with the rows their filters select, read in chunks:
`wants_csv` and `csv_download` here for pages, `pipeline_crm.csv_api.CsvListMixin` for the API.

Every download is announced (`ExportDownloaded`: who, which list, with which filters) as its
response is made, so the audit log (`audit.listeners`) records every CSV that leaves.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from pipeline_crm.events import announce
from pipeline_crm.request_context import current_request

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A negative number written as text ("-12.50"): a number to a spreadsheet, never a formula.
PLAIN_NUMBER = re.compile(r"-\d+(\.\d+)?")
# Excel reads a file as UTF-8 only when it starts with a byte order mark.
BYTE_ORDER_MARK = "\ufeff"
# Rows read from the database at a time, and the size of the pieces sent to the client.
CHUNK_ROWS = 2000
SEND_BYTES = 64 * 1024
CSV_MEDIA_TYPE = "text/csv"


def safe_cell(value: Any) -> Any:
    """The value as it goes into a CSV cell: text that a spreadsheet would run is defused."""
    if type(value) is str:  # most cells: straight to the check (this runs for every cell)
        text = value
    elif value is None:
        return ""
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, int | float | Decimal):
        return value
    elif isinstance(value, dt.date):  # a datetime too
        return value.isoformat()
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return f"'{text}"
    return text


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


def _in_pieces(lines: Iterable[str], size: int = SEND_BYTES) -> Iterator[str]:
    """Lines joined into pieces of about `size` characters: one write per piece, not per row."""
    piece: list[str] = []
    length = 0
    for line in lines:
        piece.append(line)
        length += len(line)
        if length >= size:
            yield "".join(piece)
            piece, length = [], 0
    if piece:
        yield "".join(piece)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole (small) CSV as one string, with the same safe cells as a streamed one."""
    return "".join(csv_lines(header, rows))


def attachment_name(stem: str) -> str:
    """`<stem>-<today>.csv`, the name every download gets."""
    return f"{stem}-{timezone.localdate().isoformat()}.csv"


def _as_attachment[R: HttpResponse | StreamingHttpResponse](response: R, stem: str) -> R:
    response["Content-Disposition"] = f'attachment; filename="{attachment_name(stem)}"'
    return response


@dataclass(frozen=True)
class ExportDownloaded:
    """`user` downloaded the CSV `name` (the file name's stem: "deals", "import-7-errors") from
    `path`, with these query `filters` (`format` left out). Announced as the response is made
    (the rows stream afterwards: their number is not known yet)."""

    user: AbstractBaseUser | None
    name: str
    path: str
    filters: dict[str, str | list[str]]


def announce_download(name: str) -> None:
    """Announce `ExportDownloaded` for the request being served (none outside a request)."""
    request = current_request()
    if request is None:
        return
    user = getattr(request, "user", None)
    filters = {
        key: values[0] if len(values) == 1 else values
        for key, values in request.GET.lists()
        if key != "format"
    }
    announce(
        ExportDownloaded(
            user=user if isinstance(user, AbstractBaseUser) else None,
            name=name,
            path=request.path,
            filters=filters,
        )
    )


def streaming_csv_response(
    *, filename_stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A download that writes each row as it is read: memory stays flat however many rows.

    Pass `rows` as a lazy iterable (a queryset's `.iterator(chunk_size=...)`, a generator), so
    the rows are never all in memory at once.
    """
    announce_download(filename_stem)
    response = StreamingHttpResponse(
        _in_pieces(csv_lines(header, rows)), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8"
    )
    return _as_attachment(response, filename_stem)


def csv_response(
    *, filename_stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A small download (a table of figures) written whole, with the same safe cells."""
    announce_download(filename_stem)
    response = HttpResponse(csv_text(header, rows), content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    return _as_attachment(response, filename_stem)


# --- list pages --------------------------------------------------------------------------------


def wants_csv(request: HttpRequest) -> bool:
    """The list page is asked for its rows as CSV: `?format=csv` (or `Accept: text/csv`)."""
    if request.GET.get("format") == "csv":
        return True
    return request.headers.get("Accept", "").startswith(CSV_MEDIA_TYPE)


def read_in_chunks[T](records: Iterable[T]) -> Iterator[T]:
    """The rows one by one; a queryset is read CHUNK_ROWS at a time (its select_related and
    prefetch_related too), never all at once."""
    if isinstance(records, QuerySet):
        return records.iterator(chunk_size=CHUNK_ROWS)
    return iter(records)


@dataclass(frozen=True)
class Column:
    """One column of a page's CSV: its header and how a row's record gives its cell."""

    header: str
    value: Callable[[Any], Any]


def csv_download(
    *, filename_stem: str, columns: Sequence[Column], records: Iterable[Any]
) -> StreamingHttpResponse:
    """A list page's rows as a streamed CSV: every record `records` yields (the page's own
    filtered, visible queryset, unpaginated), one cell per column."""
    rows = ([column.value(record) for column in columns] for record in read_in_chunks(records))
    return streaming_csv_response(
        filename_stem=filename_stem, header=[column.header for column in columns], rows=rows
    )
