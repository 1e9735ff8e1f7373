"""`?format=csv` (or `Accept: text/csv`) on every API list: all the rows the JSON list would
page through (same filters, same visibility), streamed, one column per serializer field.

A list viewset takes `CsvListMixin` as its first base class; the `CSVRenderer` it registers
lets DRF's content negotiation accept the format (without it `?format=csv` is a 404), lists
`text/csv` in the schema and the browsable API's format menu, and renders any other answer of
the viewset (a record, a history) as a small CSV through the same formula-safe writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from pipeline_crm.csv_files import (
    CSV_MEDIA_TYPE,
    announce_download,
    csv_text,
    read_in_chunks,
    streaming_csv_response,
)
from pipeline_crm.ids import parse_id

_M = TypeVar("_M", bound=Model)

LIST_SEPARATOR = "; "
SCALARS = frozenset({str, int, float, bool, type(None)})

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    required=False,
    enum=["json", "csv"],
    description=(
        "csv: every matching row (no pages) as a streamed CSV download, one column per field;"
        " the same as `Accept: text/csv`."
    ),
)


def _label(item: Any) -> Any:
    """A nested record in a list cell: its name, else its id."""
    if isinstance(item, Mapping):
        for key in ("name", "title", "id"):
            if key in item:
                return item[key]
        return flat_cell(item)
    return item


def flat_cell(value: Any) -> Any:
    """A JSON value as one readable cell: a list of ids `3; 7`, nested records by name, an
    object `key=value; key=value`; anything else as it is."""
    if type(value) in SCALARS:  # most cells (this runs for every cell of every row)
        return value
    if isinstance(value, Mapping):
        return LIST_SEPARATOR.join(f"{key}={_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_text(_label(item)) for item in value)
    return value


def _text(value: Any) -> str:
    flat = flat_cell(value)
    return "" if flat is None else str(flat)


def _table(data: Any) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of what a view answered: a (paged) list of objects, one object, a value."""
    if isinstance(data, Mapping) and isinstance(data.get("results"), list):
        data = data["results"]
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(record, Mapping) for record in records):
        return ["value"], [[flat_cell(record)] for record in records]
    header: list[str] = []
    for record in records:
        header.extend(key for key in record if key not in header)
    return header, [[flat_cell(record.get(key)) for key in header] for record in records]


def _is_download(context: Mapping[str, Any] | None) -> bool:
    """A record (or any answer but an error) read as CSV: a download the audit log notes."""
    context = context or {}
    request, response = context.get("request"), context.get("response")
    if request is None or response is None:
        return False
    return bool(request.method == "GET" and response.status_code < 400)


def _download_name(view: Any) -> str:
    queryset = getattr(view, "queryset", None)
    model = getattr(queryset, "model", None)
    if model is None:
        return "record"
    return str(model._meta.verbose_name).replace(" ", "-")


class CSVRenderer(BaseRenderer):
    """Any answer of a CSV-capable viewset as CSV (its lists do not come here: they stream)."""

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if _is_download(renderer_context):
            view = (renderer_context or {}).get("view")
            announce_download(_download_name(view))
        header, rows = _table(data)
        return csv_text(header, rows).encode(self.charset)


def _csv_asked(request: Request) -> bool:
    return isinstance(getattr(request, "accepted_renderer", None), CSVRenderer)


class CsvListMixin(mixins.ListModelMixin, GenericAPIView[_M]):
    """A list that also answers CSV: `class FooViewSet(CsvListMixin[Foo], ...ModelViewSet[Foo])`.

    The CSV holds every row `filter_queryset(get_queryset())` gives (the viewset's own
    visibility and filters, no pagination), read `csv_chunk_size` rows at a time (select_related
    and prefetch_related work per chunk: the query count does not grow with the rows), each row
    shaped by the viewset's serializer, its readable fields the columns.
    """

    renderer_classes = [
        *cast(list[type[BaseRenderer]], api_settings.DEFAULT_RENDERER_CLASSES),
        CSVRenderer,
    ]

    @extend_schema(parameters=[FORMAT_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if _csv_asked(request):
            # A streamed download, not a Response: DRF passes any HttpResponse through.
            return self.csv_list()  # type: ignore[return-value]
        return super().list(request, *args, **kwargs)

    def csv_list(self) -> StreamingHttpResponse:
        self._refuse_a_bad_page()
        records = self.filter_queryset(self.get_queryset())
        return self.csv_of(records, cast("serializers.Serializer[Any]", self.get_serializer()))

    def _refuse_a_bad_page(self) -> None:
        """The CSV has no pages, yet a `page` that could be none is refused as the JSON list
        refuses it (404 "Invalid page."), not silently ignored."""
        paginator = self.paginator
        name = getattr(paginator, "page_query_param", None)
        raw = self.request.query_params.get(name) if name else None
        last = getattr(paginator, "last_page_strings", ())
        if raw is not None and raw not in last and parse_id(raw) is None:
            raise NotFound(getattr(paginator, "invalid_page_message", "Invalid page."))

    def csv_asked(self) -> bool:
        """CSV was asked for (`?format=csv` or `Accept: text/csv`): for list-like actions."""
        return _csv_asked(self.request)

    def csv_of(
        self, records: QuerySet[Any], serializer: serializers.Serializer[Any]
    ) -> StreamingHttpResponse:
        """Every row of `records`, shaped by `serializer` (its readable fields the columns),
        streamed as CSV: the list, and list-like actions such as a webhook's delivery log."""
        columns = [name for name, field in serializer.fields.items() if not field.write_only]

        def rows() -> Iterator[Sequence[Any]]:
            for record in read_in_chunks(records):
                shown = serializer.to_representation(record)
                yield [flat_cell(shown.get(name)) for name in columns]

        return streaming_csv_response(
            filename_stem=str(records.model._meta.verbose_name_plural).replace(" ", "-"),
            header=columns,
            rows=rows(),
        )

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        """Errors stay JSON (`{"detail": ...}` or field messages) even when CSV was asked for."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400 and _csv_asked(request):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response
