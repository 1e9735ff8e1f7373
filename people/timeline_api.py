"""GET /api/contacts/{id}/timeline/ and /api/companies/{id}/timeline/ (SPEC §9 Timeline).

A keyset page, newest first: `{"next": url or null, "results": [{at, kind, summary, deal,
activity, by}]}`; `?kind=` keeps one kind, `?after=` is the cursor `next` carries. Built by
`people.timeline`, through the visibility rules.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.viewsets import GenericViewSet

from people.timeline import KINDS, Cursor, Entry, timeline_page


class TimelineEntrySerializer(serializers.Serializer[Entry]):
    """One entry: an activity (its kind), a stage change (`stage`), a deal won or lost."""

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=KINDS)
    summary = serializers.CharField()
    deal = serializers.IntegerField(source="deal.pk", allow_null=True, default=None)
    activity = serializers.IntegerField(source="activity.pk", allow_null=True, default=None)
    by = serializers.IntegerField(source="by.pk", allow_null=True, default=None)


class TimelinePageSerializer(serializers.Serializer[Any]):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, if any.")
    results = TimelineEntrySerializer(many=True)


class TimelineMixin(GenericViewSet[Any]):
    """Adds `timeline/` to the contacts' and the companies' API."""

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=KINDS, description="One kind only."),
            OpenApiParameter("after", OpenApiTypes.STR, description="The cursor `next` carries."),
        ],
        responses={200: TimelinePageSerializer},
        summary="Activities, stage changes, won and lost of the record and its deals, newest "
        "first.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()
        kind = request.query_params.get("kind", "")
        if kind and kind not in KINDS:
            raise ValidationError({"kind": [f"One of: {', '.join(KINDS)}."]})
        raw_after = request.query_params.get("after")
        after = Cursor.parse(raw_after)
        if raw_after and after is None:
            raise ValidationError({"after": ["Not a cursor this timeline gave."]})
        page = timeline_page(request.user, record, kind=kind, after=after)  # type: ignore[arg-type]
        url = request.build_absolute_uri()
        return Response(
            {
                "next": replace_query_param(url, "after", str(page.next)) if page.next else None,
                "results": TimelineEntrySerializer(page.entries, many=True).data,  # type: ignore[arg-type]
            }
        )
