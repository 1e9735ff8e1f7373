"""The import page `/import/` (SPEC §9): upload a CSV, map its columns, see every row checked,
import the valid rows or all or nothing, watch a large file's progress, undo.

Thin views over `imports.services` (the engine); the uploaded file waits in `imports.staging`
between the upload and the mapping. Each step is a partial of templates/imports/import.html that
htmx swaps into `#import-step`; without JavaScript the same URLs answer whole pages. Refusals of
the engine (DomainError, FileTooLarge, NotAllowed, ChangedSince) come back as the step with the
message, never a 500.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from imports import services, staging
from imports.columns import Field
from imports.forms import UploadForm, mapping_from
from imports.models import Import
from pipeline_crm.csv_files import streaming_csv_response
from pipeline_crm.errors import DomainError, NotAllowed
from pipeline_crm.htmx import add_trigger, refusal, toast, wants_fragment

PAGE = "imports/import.html"
ERRORS_SHOWN = 20
RECENT = 10
CHANGED = "imports-changed"  # the event that reloads the recent imports
# Where a kind's records are listed (the first URL name that exists).
LIST_PAGES = {
    "leads": ("leads",),
    "contacts": ("contacts",),
    "companies": ("companies",),
    "deals": ("deals", "deal-list", "board"),
}
RUNNING = (Import.Status.VALIDATING, Import.Status.IMPORTING)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def importer_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in and allowed to import some kind of record; 404 otherwise."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not services.importable_kinds(_user(request)):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped


def _recent(user: User) -> list[Import]:
    return list(Import.objects.visible_to(user).select_related("created_by")[:RECENT])


def _show(
    request: HttpRequest, step: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """One step: its partial for htmx, else the whole page showing it."""
    if wants_fragment(request):
        return render(request, f"{PAGE}#{step}", context, status=status)
    user = _user(request)
    page = {"nav": "import", "step": step, "recent": _recent(user), "me": user, **context}
    return render(request, PAGE, page, status=status)


# --- step 1: upload --------------------------------------------------------------------------


@importer_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    kinds = services.importable_kinds(user)
    if request.method != "POST":
        mine = Import.objects.visible_to(user).filter(created_by=user, kind__in=kinds)
        last = mine.values_list("kind")
        kind = next(iter(last.first() or ()), "leads")
        return _show(request, "upload", {"form": UploadForm(kinds=kinds, initial={"kind": kind})})
    form = UploadForm(request.POST, request.FILES, kinds=kinds)
    if form.is_valid():
        try:
            staged = staging.stage(
                by=user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                on_duplicate=form.cleaned_data["on_duplicate"],
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return _show(request, "mapping", _mapping_context(user, staged, None))
    return _show(request, "upload", {"form": form}, status=422)


# --- step 2: mapping -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str
    label: str
    samples: list[str]


def _mapping_context(
    user: User, staged: staging.Staged, mapping: dict[str, str] | None, error: str = ""
) -> dict[str, Any]:
    known = {field.name: field for field in services.fields(staged.kind)}
    with staging.opened(staged) as upload:
        shown = services.preview(upload=upload, rows=staging.PREVIEW_ROWS)
    if mapping is None:
        mapping = services.suggested_mapping(by=user, kind=staged.kind, headers=shown.headers)
    columns = [
        Column(
            index=index,
            header=header,
            field=mapping.get(header, ""),
            label=known[mapping[header]].label if mapping.get(header) else "",
            samples=[row[index] for row in shown.rows if index < len(row) and row[index]],
        )
        for index, header in enumerate(shown.headers)
    ]
    return {
        "staged": staged,
        "kind_label": Import.Kind(staged.kind).label,
        "columns": columns,
        "rows": [list(zip(columns, row, strict=False)) for row in shown.rows],
        "fields": list(known.values()),
        **_mapping_checks(known, mapping),
        "error": error,
    }


def _mapping_checks(known: dict[str, Field], mapping: dict[str, str]) -> dict[str, Any]:
    """What the page says about the mapping before it is checked: required fields without a
    column, fields given two columns."""
    used = Counter(field for field in mapping.values() if field)
    return {
        "missing": [f.label for f in known.values() if f.required and not used[f.name]],
        "doubled": [known[name].label for name, count in used.items() if count > 1],
    }


def _staged_or_refusal(request: HttpRequest, token: str) -> staging.Staged | HttpResponse:
    try:
        return staging.load(token, by=_user(request))
    except DomainError as exc:
        form = UploadForm(kinds=services.importable_kinds(_user(request)))
        return _show(request, "upload", {"form": form, "notice": exc.message}, status=422)


@importer_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest) -> HttpResponse:
    """GET: the mapping step for a staged upload (as last applied); POST (the selects
    changing): the preview with the chosen mapping."""
    data = request.POST if request.method == "POST" else request.GET
    staged = _staged_or_refusal(request, str(data.get("token", "")))
    if isinstance(staged, HttpResponse):
        return staged
    if request.method != "POST":
        return _show(request, "mapping", _mapping_context(_user(request), staged, None))
    headers, known = _headers_and_fields(staged)
    mapping = mapping_from(request.POST, headers, known)
    context = _mapping_context(_user(request), staged, mapping)
    return render(request, f"{PAGE}#mapping_preview", context)


def _headers_and_fields(staged: staging.Staged) -> tuple[list[str], dict[str, Field]]:
    with staging.opened(staged) as upload:
        headers = services.preview(upload=upload, rows=0).headers
    return headers, {field.name: field for field in services.fields(staged.kind)}


@importer_required
@require_POST
def import_check(request: HttpRequest) -> HttpResponse:
    """Validate every row with the chosen mapping (nothing is written yet)."""
    user = _user(request)
    staged = _staged_or_refusal(request, str(request.POST.get("token", "")))
    if isinstance(staged, HttpResponse):
        return staged
    headers, known = _headers_and_fields(staged)
    mapping = mapping_from(request.POST, headers, known)
    try:
        with staging.opened(staged) as upload:
            batch = services.start_import(
                by=user,
                kind=staged.kind,
                upload=upload,
                mapping=mapping,
                on_duplicate=staged.on_duplicate,
            )
    except DomainError as exc:
        context = _mapping_context(user, staged, mapping, error=exc.message)
        return _show(request, "mapping", context, status=422)
    response = _show(request, "batch", _batch_context(user, batch, token=staged.token))
    response["HX-Push-Url"] = reverse("import-batch", args=[batch.pk])  # a reload shows it
    return add_trigger(response, CHANGED)


# --- step 3 and on: the import ---------------------------------------------------------------


def _list_url(kind: str) -> str:
    for name in LIST_PAGES[kind]:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse("home")


def _may_undo(user: User, batch: Import) -> bool:
    return batch.status == Import.Status.DONE and (batch.created_by_id == user.pk or user.is_admin)


def _batch_context(user: User, batch: Import, token: str = "", **more: Any) -> dict[str, Any]:
    return {
        "batch": batch,
        "running": batch.status in RUNNING,
        "current": 4 if batch.mode or batch.status == Import.Status.IMPORTING else 3,
        "errors": services.first_errors(batch, ERRORS_SHOWN),
        "token": token,
        "list_url": _list_url(batch.kind),
        "may_undo": _may_undo(user, batch),
        "error": "",
        "changed": [],
        **more,
    }


def _batch(request: HttpRequest, pk: int) -> Import:
    return get_object_or_404(Import.objects.visible_to(_user(request)), pk=pk)


@importer_required
@require_GET
def import_batch(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's step: its progress while it runs (polled), then what it found or did."""
    batch = _batch(request, pk)
    token = str(request.GET.get("token", ""))
    response = _show(request, "batch", _batch_context(_user(request), batch, token))
    if wants_fragment(request) and batch.status not in RUNNING:
        add_trigger(response, CHANGED)
    return response


def _refused(
    request: HttpRequest, batch: Import, exc: DomainError, token: str = ""
) -> HttpResponse:
    """The engine's refusal shown in the import's step (403s as the usual refusal)."""
    if isinstance(exc, NotAllowed):
        return refusal(request, exc)
    batch.refresh_from_db()
    changed = getattr(exc, "records", [])
    context = _batch_context(_user(request), batch, token, error=exc.message, changed=changed)
    return _show(request, "batch", context, status=409 if exc.http_status == 409 else 422)


@importer_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    user, batch = _user(request), _batch(request, pk)
    token = str(request.POST.get("token", ""))
    try:
        batch = services.commit_import(by=user, batch=batch, mode=str(request.POST.get("mode")))
    except DomainError as exc:
        return _refused(request, batch, exc, token)
    if token:
        with contextlib.suppress(DomainError):  # already gone
            staging.discard(staging.load(token, by=user))
    response = add_trigger(_show(request, "batch", _batch_context(user, batch)), CHANGED)
    if batch.status == Import.Status.DONE:
        toast(response, f"Imported {batch.get_kind_display().lower()}: {_counts(batch)}.")
    return response


def _counts(batch: Import) -> str:
    return f"{batch.created} created, {batch.updated} updated, {batch.skipped} skipped"


@importer_required
@require_POST
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    user, batch = _user(request), _batch(request, pk)
    try:
        batch = services.undo_import(by=user, batch=batch)
    except DomainError as exc:
        return _refused(request, batch, exc)
    response = add_trigger(_show(request, "batch", _batch_context(user, batch)), CHANGED)
    return toast(response, "The import was undone.")


@importer_required
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every bad row with its reason (the same report as the API's errors.csv)."""
    batch = _batch(request, pk)
    return streaming_csv_response(
        filename_stem=f"import-{batch.pk}-errors",
        header=["row", "column", "message"],
        rows=services.error_rows(batch),
    )


@importer_required
@require_GET
def import_recent(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(request, f"{PAGE}#recent", {"recent": _recent(user), "me": user})
