"""Shared API plumbing: domain errors become clear 4xx answers, never a 500."""

import logging
from typing import Any, TypeVar, cast

from django import forms
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.relations import PrimaryKeyRelatedField
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pipeline_crm.errors import DomainError, StaleVersion
from pipeline_crm.middleware import request_too_large_detail

logger = logging.getLogger(__name__)

_M = TypeVar("_M", bound=Model)


def _stale_version_response(exc: StaleVersion, context: dict[str, Any]) -> Response:
    """409 with the record as it is now, shaped by the view's own serializer and named after
    its model (`{"detail", "code", "deal": {...}}`), so the client can show it and retry."""
    payload = exc.as_payload()
    view = context.get("view")
    if isinstance(view, GenericAPIView):
        name = exc.current._meta.model_name
        payload[name] = view.get_serializer_class()(exc.current, context=context).data
    return Response(payload, status=exc.http_status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, StaleVersion):
        return _stale_version_response(exc, context)
    if isinstance(exc, RequestDataTooBig):
        # A body that grew past the limit while being parsed (no Content-Length up front).
        request = context.get("request")
        return Response(
            {"detail": request_too_large_detail(request.path_info if request else "")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {"detail": "Other records still refer to this one; reassign or remove them first."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError | DataError):
        # Validation should have caught it; the database's own rules are the last line, and
        # what broke them was the input, so answer 400 rather than a 500.
        logger.warning("API input rejected by the database: %s", exc)
        return Response(
            {"detail": "The database refused this input (a value is out of range or taken)."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)


class VisiblePrimaryKeyRelatedField(PrimaryKeyRelatedField[Model]):
    """An id of a record the caller can see; others read as "does not exist" (no leak)."""

    def get_queryset(self) -> QuerySet[Model]:
        # Any: the related models' querysets (accounts.visibility) are not known down here.
        queryset: Any = super().get_queryset()
        request = self.context.get("request")
        visible: QuerySet[Model] = queryset.visible_to(request.user if request else None)
        return visible


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(filters.NumberFilter):
    """A filter on a record id: whole numbers only, so `?stage=1.5` is a 400, not a silent miss,
    and within the range of an id, so a 23-digit one is a 400 on every database (SQLite raises
    on an integer it cannot store)."""

    # The stubs type NumberFilter's field as a DecimalField; any form field will do.
    field_class = forms.IntegerField  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class _StrictBooleanField(forms.NullBooleanField):
    # The stubs give NullBooleanField.to_python BooleanField's `bool`; it returns None too.
    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.lower() in {"true", "1"}:
            return True
        if isinstance(value, str) and value.lower() in {"false", "0"}:
            return False
        raise DjangoValidationError("Use true or false.", code="invalid")


class BooleanFilter(filters.BooleanFilter):
    """A yes/no filter: `true`/`false` (or 1/0); anything else is a 400, where django-filter's
    own would drop the filter silently and list everything."""

    field_class = _StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class ServiceViewSetMixin(GenericAPIView[_M]):
    """A view that hands the signed-in caller to the services as `by`."""

    @property
    def actor(self) -> Any:
        """The signed-in user (the permission classes let only them this far)."""
        return cast(Any, self.request.user)

    def parse_input(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        """The request body as `serializer_class` validates it (a 400 with field errors
        otherwise): the input of an action such as move/ or convert/."""
        parsed = serializer_class(data=self.request.data, context=self.get_serializer_context())
        parsed.is_valid(raise_exception=True)
        return dict(parsed.validated_data)
