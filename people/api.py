"""/api/companies/, /api/contacts/, /api/leads/ (+ convert/, disqualify/ and scoring-model/),
/api/scoring-rules/ (everyone reads, admins write).

Companies and contacts are readable by everyone signed in; leads by the owner rule. Writes go
through `contacts.services`, which answer 403 to someone who may read but not change a record.
"""

from typing import Any, cast

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.permissions import AdminWritesOrReadOnly
from contacts import services
from contacts.models import Company, Contact, Lead, ScoringRule
from deals.serializers import DealSerializer
from people import services as workflows
from people.duplicates import duplicate_groups, looks_like
from people.learned_scoring import model_summary
from people.merge import MERGERS, RecordGone
from people.merge_serializers import (
    ConversionPreviewSerializer,
    DuplicateGroupSerializer,
    MergeResultSerializer,
    MergeSerializer,
)
from people.selectors import preview_body
from people.serializers import (
    CompanySerializer,
    ContactSerializer,
    ConvertLeadSerializer,
    DisqualifyLeadSerializer,
    LeadSerializer,
    ScoringModelSerializer,
    ScoringRuleSerializer,
)
from people.timeline_api import TimelineMixin
from pipeline_crm.api import IdFilter, ServiceViewSetMixin
from pipeline_crm.csv_api import CsvListMixin

REFUSED = OpenApiResponse(description="Bad input or a business rule refused it (field messages).")
FORBIDDEN = OpenApiResponse(description="You may see this lead but not change it.")


class _OwnedRecordViewSet(CsvListMixin[Any], ServiceViewSetMixin[Any], viewsets.ModelViewSet[Any]):
    """CRUD over one owned model, every write through the contacts services."""

    model: type[Any]  # Company, Contact or Lead

    def get_queryset(self) -> QuerySet[Any]:
        records: QuerySet[Any] = self.model.objects.visible_to(self.request.user)
        return records

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """201 with the record and `looks_like`: the records it resembles (same e-mail, a lead's
        among contacts too; same domain; similar name), a warning that never stops the save."""
        response = super().create(request, *args, **kwargs)
        found = looks_like(
            self.model, user=self.actor, fields=response.data, exclude=response.data["id"]
        )
        response.data["looks_like"] = [
            {
                "type": alike.record._meta.model_name,
                "id": alike.record.pk,
                "name": str(alike.record),
                "reason": alike.reason,
            }
            for alike in found
        ]
        return response

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.create_record(
            self.model, by=self.actor, fields=serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = services.update_record(
            cast(Any, serializer.instance), by=self.actor, changes=serializer.validated_data
        )

    def perform_destroy(self, instance: Any) -> None:
        services.delete_record(instance, by=self.actor)

    @extend_schema(
        request=MergeSerializer,
        responses={
            200: MergeResultSerializer,
            400: REFUSED,
            403: OpenApiResponse(description="You may see one of them but not change it."),
            404: OpenApiResponse(description="Either record is out of sight or gone."),
        },
        summary="Merge `other` into this record (which stays): everything linked moves here.",
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        survivor = self.get_object()
        other_id = self.parse_input(MergeSerializer)["other"]
        other = self.get_queryset().filter(pk=other_id).first()
        if other is None:
            raise RecordGone(f"No {self.model._meta.verbose_name} {other_id} that you can see.")
        merger = MERGERS[self.model._meta.model_name]
        result = merger(survivor=survivor, other=other, by=self.actor)
        body = {"id": result.survivor.pk, "moved": result.moved, "filled": result.filled}
        return Response(MergeResultSerializer(body).data)

    @extend_schema(
        responses={200: DuplicateGroupSerializer(many=True)},
        summary="Groups of likely duplicates you can see (same e-mail, domain or name).",
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def duplicates(self, request: Request) -> Response:
        groups = duplicate_groups(self.model, user=self.actor)
        return Response(DuplicateGroupSerializer(groups, many=True).data)


def _text_filter(*lookups: str) -> filters.CharFilter:
    def search(queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for lookup in lookups:
            condition |= Q(**{f"{lookup}__icontains": value})
        return queryset.filter(condition)

    return filters.CharFilter(method=search, max_length=200, label="Text search.")


# django-filter has no type hints: its FilterSet is Any to mypy.
class CompanyFilter(filters.FilterSet):
    owner = IdFilter(field_name="owner")
    q = _text_filter("name", "domain", "industry")

    class Meta:
        model = Company
        fields = ["owner", "q"]


class ContactFilter(filters.FilterSet):
    owner = IdFilter(field_name="owner")
    company = IdFilter(field_name="company")
    q = _text_filter("first_name", "last_name", "email", "company__name")

    class Meta:
        model = Contact
        fields = ["owner", "company", "q"]


class LeadFilter(filters.FilterSet):
    owner = IdFilter(field_name="owner")
    status = filters.ChoiceFilter(choices=Lead.Status.choices)
    source = filters.ChoiceFilter(choices=Lead.Source.choices)
    q = _text_filter("first_name", "last_name", "email", "company_name")

    class Meta:
        model = Lead
        fields = ["owner", "status", "source", "q"]


class CompanyViewSet(TimelineMixin, _OwnedRecordViewSet):
    serializer_class = CompanySerializer
    filterset_class = CompanyFilter
    model = Company
    queryset = Company.objects.all()


class ContactViewSet(TimelineMixin, _OwnedRecordViewSet):
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    model = Contact
    queryset = Contact.objects.all()


class LeadViewSet(_OwnedRecordViewSet):
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    model = Lead
    queryset = Lead.objects.all()

    @extend_schema(
        request=ConvertLeadSerializer,
        responses={201: DealSerializer, 400: REFUSED, 403: FORBIDDEN},
        summary="Convert into a deal, reusing a company by domain and a contact by e-mail.",
    )
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        parsed = self.parse_input(ConvertLeadSerializer)
        deal = workflows.convert_lead(lead=lead, by=self.actor, **parsed)
        body = DealSerializer(deal, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: ConversionPreviewSerializer},
        summary="What converting would reuse or create (company, contact), before converting.",
    )
    @action(detail=True, methods=["get"], url_path="convert-preview")
    def convert_preview(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        return Response(ConversionPreviewSerializer(preview_body(lead)).data)

    @extend_schema(
        responses={200: ScoringModelSerializer},
        summary="The learned lead-score model: when trained, on how many leads, its AUC, weights.",
    )
    @action(detail=False, methods=["get"], url_path="scoring-model", filterset_class=None)
    def scoring_model(self, request: Request) -> Response:
        return Response(ScoringModelSerializer(model_summary()).data)

    @extend_schema(
        request=DisqualifyLeadSerializer,
        responses={200: LeadSerializer, 400: REFUSED, 403: FORBIDDEN},
        summary="Disqualify the lead, with a reason.",
    )
    @action(detail=True, methods=["post"])
    def disqualify(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        lead = services.disqualify_lead(
            lead=lead, by=self.actor, **self.parse_input(DisqualifyLeadSerializer)
        )
        return Response(self.get_serializer(lead).data)


class ScoringRuleViewSet(
    CsvListMixin[ScoringRule], ServiceViewSetMixin[ScoringRule], viewsets.ModelViewSet[ScoringRule]
):
    """Lead scoring rules; saving or deleting one scores every lead again."""

    serializer_class = ScoringRuleSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = ScoringRule.objects.order_by("id")

    def perform_create(self, serializer: BaseSerializer[ScoringRule]) -> None:
        serializer.instance = services.save_scoring_rule(
            by=self.actor, fields=serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[ScoringRule]) -> None:
        rule = cast(ScoringRule, serializer.instance)
        fields = {
            "field": rule.field,
            "operator": rule.operator,
            "value": rule.value,
            "points": rule.points,
            **serializer.validated_data,
        }
        serializer.instance = services.save_scoring_rule(by=self.actor, fields=fields, rule=rule)

    def perform_destroy(self, instance: ScoringRule) -> None:
        services.delete_scoring_rule(by=self.actor, rule=instance)
