"""/api/imports/ (SPEC §9): upload and validate, list, read, commit, undo, the error report.

Thin: reads go through `Import.objects.visible_to(user)` (one's own; admins all; 404 otherwise),
everything else through `imports.services`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from imports import services
from imports.models import Import
from imports.serializers import CommitSerializer, ImportSerializer, ImportUploadSerializer
from pipeline_crm.api import ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin
from pipeline_crm.csv_files import streaming_csv_response
from pipeline_crm.parsers import DepthLimitedJSONParser


class ImportViewSet(
    CsvListMixin[Import],
    ServiceViewSetMixin[Import],
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Import],
):
    """CSV imports of companies, contacts, leads and deals: yours (an admin sees all)."""

    serializer_class = ImportSerializer
    queryset = Import.objects.all()
    parser_classes = [MultiPartParser, FormParser, DepthLimitedJSONParser]

    def get_queryset(self) -> QuerySet[Import]:
        return Import.objects.visible_to(self.request.user)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            201: ImportSerializer,
            400: OpenApiResponse(description="Bad mapping or input."),
            403: OpenApiResponse(description="Reps import leads and contacts only."),
            413: OpenApiResponse(description="Over 50 MB or 500,000 rows."),
        },
        summary="Upload a CSV: every row is validated, nothing is written yet.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = self.parse_input(ImportUploadSerializer)
        batch = services.start_import(
            by=self.actor,
            kind=given["kind"],
            upload=given["file"],
            mapping=given.get("mapping"),
            on_duplicate=given["on_duplicate"],
        )
        return Response(self.get_serializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CommitSerializer,
        responses={
            200: ImportSerializer,
            400: OpenApiResponse(description="All or nothing, and some rows are bad."),
        },
        summary="Write the rows (valid rows only, or all or nothing).",
    )
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str | None = None) -> Response:
        mode = self.parse_input(CommitSerializer)["mode"]
        batch = services.commit_import(by=self.actor, batch=self.get_object(), mode=mode)
        return Response(self.get_serializer(batch).data)

    @extend_schema(
        request=None,
        responses={
            200: ImportSerializer,
            409: OpenApiResponse(description="Records changed since the import; named."),
        },
        summary="Remove what the import created and restore what it updated.",
    )
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        batch = services.undo_import(by=self.actor, batch=self.get_object())
        return Response(self.get_serializer(batch).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Every bad row with its reason, as CSV.",
    )
    def errors_csv(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        batch = self.get_object()
        header, rows = services.error_report(batch)
        return streaming_csv_response(
            filename_stem=f"import-{batch.pk}-errors", header=header, rows=rows
        )
