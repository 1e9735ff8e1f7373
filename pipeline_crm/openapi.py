"""What /api/schema/ says beyond the views' own declarations, decided here once for every view.

- `AutoSchema` lists the error answers each operation can give, with the bodies
  `pipeline_crm.api.exception_handler` (and DRF) really send: 400 field messages, 401, 403, 404,
  413, 415, 429. A view declares only what needs its knowledge (a 409 for a stale version, a
  richer body or description); an error it declares without a body gets the shared one here.
- `add_links` (a postprocessing hook) adds OpenAPI links from each create (POST 201) to the
  operations on the record it made (`{id}`), so clients and Schemathesis' stateful runs can
  chain create → read / update / delete / actions.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR: dict[str, Any] = {
    "type": "object",
    "description": "Why the request was refused.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Machine-readable reason, when there is one."},
    },
    "required": ["detail"],
}
FIELD_ERRORS: dict[str, Any] = {
    "type": "object",
    "description": "What is wrong with the input: messages by field name, `non_field_errors` for "
    "the input as a whole, or a `detail` (a business rule, an unreadable body).",
    "properties": {
        "detail": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "code": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {
        "description": "Messages about the input of that name (an object for nested input).",
        "anyOf": [{"type": "array"}, {"type": "object"}],
    },
}
SCHEMAS = {"Error": ERROR, "FieldErrors": FIELD_ERRORS}

DESCRIPTIONS = {
    "400": "Refused: bad input (field messages) or a business rule (`detail`, `code`).",
    "401": "No valid token or session; `WWW-Authenticate` says how to sign in.",
    "403": "Signed in, but not allowed to do this (`detail` says why).",
    "404": "No such record within your sight, a page past the last, or an unknown `format`.",
    "409": "Conflict: the record changed since you read it.",
    "413": "The request body is over the size limit.",
    "415": "The body's Content-Type is not one this operation reads.",
    "429": "Too many requests; `Retry-After` says when to try again.",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the error answers every view shares."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self._allow_empty_query_values(operation)
        responses = operation["responses"]
        for code in self._error_codes(operation):
            responses.setdefault(code, {"description": DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code >= "400" and "content" not in response:
                response["content"] = {"application/json": {"schema": self._error_schema(code)}}
                response["description"] = response.get("description") or DESCRIPTIONS[code]
        return operation

    def _allow_empty_query_values(self, operation: dict[str, Any]) -> None:
        """Query strings are read as HTML forms are (django-filter, forms, serializers): an
        empty value is a value left out. Only a page number must be one."""
        page = getattr(self._paginator(), "page_query_param", None)
        for parameter in operation.get("parameters", ()):
            optional = parameter["in"] == "query" and not parameter.get("required")
            if optional and parameter["name"] != page:
                parameter["allowEmptyValue"] = True

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        """Any request can be refused as bad input (a NUL byte in its URL, a filter or body that
        does not validate); the rest follow from what the operation takes and who may call it."""
        codes = ["400"]
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path or self._is_paginated_list() or _takes(operation, "format"):
            codes.append("404")
        if "requestBody" in operation and self.method in BODY_METHODS:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._paginator() is not None

    def _paginator(self) -> Any:
        return self._get_paginator()  # type: ignore[no-untyped-call]

    def _error_schema(self, code: str) -> dict[str, Any]:
        name = "FieldErrors" if code == "400" else "Error"
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=SCHEMAS[name]
        )
        self.registry.register_on_missing(component)
        return component.ref


def _takes(operation: dict[str, Any], name: str) -> bool:
    return any(parameter["name"] == name for parameter in operation.get("parameters", ()))


def add_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Links from each POST 201 to the operations on `{id}` under the same path, fed by the
    created record's `id`."""
    paths: dict[str, dict[str, Any]] = result.get("paths", {})
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {"id": "$response.body#/id"},
                "description": f"{method.upper()} {other} of the record just created.",
            }
            for other, other_item in paths.items()
            if other.startswith(f"{path}{{id}}/")
            for method, operation in other_item.items()
            if method in HTTP_METHODS and _only_parameter_is_id(other)
        }
        if links:
            created["links"] = links
    return result


def _only_parameter_is_id(path: str) -> bool:
    """A link can fill `{id}`; a path with more parameters needs more than the new record."""
    return path.count("{") == 1
