"""The audit log's filters, one definition for the page (`/settings/audit/`) and the API."""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django.db.models import QuerySet

from accounts.models import User
from audit.models import Action, AuditEntry, AuditEntryQuerySet


class AuditFilter(filters.FilterSet):
    action = filters.ChoiceFilter(choices=Action.choices, empty_label="Any action")
    actor = filters.ModelChoiceFilter(
        queryset=User.objects.order_by("username"), empty_label="Anyone", label="Actor"
    )
    since = filters.DateFilter(method="from_day", label="From (date)")
    until = filters.DateFilter(method="to_day", label="To (date)")
    q = filters.CharFilter(
        method="search", max_length=100, label="Text in the actor, target, IP or details"
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "since", "until", "q"]

    def filter_queryset(self, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return super().filter_queryset(queryset).order_by("-at", "-id")

    def from_day(
        self, queryset: AuditEntryQuerySet, name: str, value: dt.date
    ) -> QuerySet[AuditEntry]:
        return queryset.between(value, None)

    def to_day(
        self, queryset: AuditEntryQuerySet, name: str, value: dt.date
    ) -> QuerySet[AuditEntry]:
        return queryset.between(None, value)

    def search(self, queryset: AuditEntryQuerySet, name: str, value: str) -> QuerySet[AuditEntry]:
        return queryset.matching(value)
