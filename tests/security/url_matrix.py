"""The machinery of the access matrix: every route of the URL conf, the methods its view
accepts, and one request of a rule as an actor sees it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.url_world import World

# Anonymous on a page: a 302 to the login form (checked by its Location).
LOGIN = "login"
SAFE_AND_IGNORED = {"HEAD", "OPTIONS", "TRACE"}
METHOD_ORDER = ("GET", "PUT", "PATCH", "POST", "DELETE")
# URL kwargs filled by name when a rule does not say (values: World.record names).
DEFAULT_KWARGS = {
    "deal_id": "deal",
    "pipeline_id": "pipeline",
    "stage_id": "stage",
    "user_id": "rep",
    "team_id": "team",
    "webhook_id": "webhook",
    "delivery_id": "delivery",
    "activity_id": "activity",
    "token": "calendar_token",
    "name": "=title",
    "uidb64": "=MQ",
    "table": "=forecast",
    "reason_id": "lost_reason",
    "rate_id": "exchange_rate",
}


@dataclass(frozen=True)
class Route:
    path: str  # the pattern as written, includes joined
    name: str | None  # with its namespace (admin:index)
    callback: Callable[..., Any]

    @property
    def kwarg_names(self) -> list[str]:
        return [n for n in self.pattern.regex.groupindex] if self.pattern else []

    pattern: Any = None


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Route(prefix + str(entry.pattern), name, entry.callback, entry.pattern)


def routes() -> list[Route]:
    """Every route of the URL conf, recursing into includes."""
    return list(_walk(get_resolver(), "", ""))


def accepted_methods(callback: Callable[..., Any]) -> tuple[str, ...]:
    """The methods a view answers (HEAD and OPTIONS aside), in METHOD_ORDER.

    DRF viewsets: their action map; class-based views: their handlers; function views: the
    list `require_http_methods` (or require_GET/POST/safe) closed over. A function view
    declaring none answers every method: GET and POST are what it is tested with.
    """
    found: set[str] | None = None
    actions = getattr(callback, "actions", None)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if actions:
        found = {m.upper() for m in actions}
    elif view_class is not None:
        names = view_class.http_method_names
        found = {m.upper() for m in names if hasattr(view_class, m)}
    else:
        function: Any = callback
        while function is not None and found is None:
            cells = zip(function.__code__.co_freevars, function.__closure__ or (), strict=True)
            for var, cell in cells:
                if var == "request_method_list":
                    found = set(cell.cell_contents)
            function = getattr(function, "__wrapped__", None)
    found = found if found is not None else {"GET", "POST"}
    return tuple(m for m in METHOD_ORDER if m in found - SAFE_AND_IGNORED)


type Body = Callable[[World], dict[str, Any]] | dict[str, Any]
type Expected = dict[str, int | str]  # actor -> status, or LOGIN


@dataclass(frozen=True)
class Rule:
    """What each actor gets from each method of one URL. `kwargs` maps URL kwargs to World
    records (DEFAULT_KWARGS by name otherwise); `bodies` what each unsafe method sends
    (JSON under /api/, a form elsewhere; empty if not given)."""

    methods: dict[str, Expected]
    kwargs: dict[str, str] = field(default_factory=dict)
    query: str = ""
    bodies: dict[str, Body] = field(default_factory=dict)


# `pk` of a route named <prefix>-…: the record it names.
PK_BY_NAME_PREFIX = {
    "api-user": "rep",
    "api-team": "team",
    "api-pipeline": "pipeline",
    "api-stage": "stage",
    "api-lost-reason": "lost_reason",
    "api-exchange-rate": "exchange_rate",
    "api-deal": "deal",
    "api-activity": "activity",
    "api-notification": "notification",
    "api-company": "company",
    "api-contact": "contact",
    "api-lead": "lead",
    "api-quota": "quota",
    "api-webhook": "webhook",
    "api-import": "batch",
    "api-audit": "audit_entry",
    "import": "batch",
    "forecast-quota": "quota",
    "notification": "notification",
    "lead": "lead",
    "contact": "contact",
    "company": "company",
}


def default_kwarg(route_name: str, kwarg: str) -> str:
    if kwarg == "pk":
        prefixes = sorted(PK_BY_NAME_PREFIX, key=len, reverse=True)
        return next(PK_BY_NAME_PREFIX[p] for p in prefixes if route_name.startswith(p + "-"))
    if kwarg == "activity_id" and route_name.endswith("-activity-done"):
        return route_name.split("-")[0] + "_activity"  # lead_activity, contact_activity, …
    return DEFAULT_KWARGS[kwarg]


def url_for(route_name: str, route: Route, rule: Rule, world: World) -> str:
    kwargs = {
        name: world.record(rule.kwargs.get(name) or default_kwarg(route_name, name))
        for name in route.kwarg_names
    }
    url = reverse(route_name, kwargs=kwargs)
    return f"{url}?{rule.query}" if rule.query else url


def send(client: Client, method: str, url: str, body: dict[str, Any] | None) -> Any:
    is_api = url.startswith("/api/")
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url)
    if is_api:
        return call(url, json.dumps(body or {}), content_type="application/json")
    if method == "POST":
        return call(url, body or {})
    return call(url, "", content_type="application/x-www-form-urlencoded")


def body_for(rule: Rule, method: str, world: World) -> dict[str, Any] | None:
    body = rule.bodies.get(method)
    return body(world) if callable(body) else body
