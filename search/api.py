"""GET /api/search/?q= (SPEC §9): what the top bar's box finds, as JSON."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from search import selectors

DEFAULT_LIMIT = 20
MAX_LIMIT = 50


class SearchQuerySerializer(serializers.Serializer[None]):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text=(
            f"Words to find (under {selectors.MIN_LENGTH} characters finds nothing; "
            f"cut at {selectors.MAX_LENGTH})."
        ),
    )
    # Blank is allowed: a query string's `type=` means "any type", as in an HTML form.
    type = serializers.ChoiceField(
        choices=selectors.TYPES,
        required=False,
        allow_blank=True,
        help_text="Only records of this type (empty: every type).",
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT
    )


class SearchResultSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=selectors.TYPES)
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    url = serializers.CharField(help_text="The record's page.")


class SearchResponseSerializer(serializers.Serializer[None]):
    results = SearchResultSerializer(many=True)


class SearchView(APIView):
    @extend_schema(
        summary="Deals, leads, contacts and companies matching words, best first",
        parameters=[SearchQuerySerializer],
        responses={200: SearchResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        wanted = params.validated_data.get("type")
        hits = selectors.search(
            user=request.user,
            q=params.validated_data.get("q", ""),
            limit=params.validated_data["limit"],
            types=[wanted] if wanted else None,
        )
        return Response({"results": SearchResultSerializer(hits, many=True).data})
