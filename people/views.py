"""Leads, contacts and companies pages (SPEC §3, §4, §8 Pages): one set of views for the three.

Each generic view takes the `kind` of record (`people.kinds`, given by people/urls.py) and
renders the shared templates/people/record_list.html or record_detail.html. The lead's
convert and disqualify are lead workflows with views of their own.

Thin views: they read through `people.selectors` and `visible_to(user)` (a record out of sight
is a 404), validate with `people.forms` and change data only through `contacts.services`,
`people.services` and `followups.services`, whose NotAllowed becomes a refusal. htmx requests
get the partial they swap (`pipeline_crm.htmx`); the same URLs work as plain pages without JS.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from accounts.visibility import can_write_owned_by
from contacts.models import Company, Contact, Lead
from contacts.selectors import company_names_matching
from contacts.services import create_record, delete_record, disqualify_lead, update_record
from deals.models import Deal
from followups.models import Activity
from followups.services import complete_activity
from people import selectors, timeline
from people.duplicates import looks_like
from people.forms import ConvertForm, DisqualifyForm, OwnedRecordForm, RecordActivityForm
from people.kinds import LEADS, Record, RecordKind
from people.services import convert_lead, log_on_record
from pipeline_crm.csv_files import csv_download, wants_csv
from pipeline_crm.errors import DomainError, NotAllowed
from pipeline_crm.htmx import refusal, retarget, swap_target, toast, wants_fragment

PAGE_SIZE = 25
COMPANY_OPTIONS_LIMIT = 10
LIST_PAGE = "people/record_list.html"
DETAIL_PAGE = "people/record_detail.html"
FORM_PAGE = "people/record_form.html"
# The ids of what htmx swaps: a list's results, a record's card and its activities.
RESULTS_ID = "results"
CARD_ID = "record-card"
ACTIVITIES_ID = "activities"

# --- shared helpers ------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is login_required)."""
    return cast(User, request.user)


def _paginate(request: HttpRequest, records: Any) -> Page[Any]:
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return page


def _add_domain_error(form: BaseForm, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _deal_url(deal: Deal) -> str:
    """The deal page when the board app provides it, else the board."""
    try:
        return reverse("deal-detail", args=[deal.pk])
    except NoReverseMatch:
        return reverse("board")


def _can_write(request: HttpRequest, record: Record) -> bool:
    return can_write_owned_by(_user(request), record.owner_id)


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful write that leaves the page: htmx gets a client redirect, a plain form
    a 303-style redirect (the message waits for the next page)."""
    if wants_fragment(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _changed(
    request: HttpRequest, message: str, url: str, fragment: Callable[[], HttpResponse]
) -> HttpResponse:
    """After a successful write that stays on the page: htmx gets the part it swaps (rendered by
    `fragment`) with the message as a toast, a plain form the message on the page at `url`."""
    if wants_fragment(request):
        return toast(fragment(), message, "success")
    messages.success(request, message)
    return redirect(url)


def _rejected(fragment: HttpResponse, element_id: str) -> HttpResponse:
    """A form sent back to htmx with its errors: a 422 (static/js/app.js lets htmx swap it) put
    in place of the element `element_id`, so the form stays where the user typed."""
    fragment.status_code = 422
    return retarget(fragment, f"#{element_id}")


def _record_or_404(request: HttpRequest, kind: RecordKind[Any], pk: int) -> Any:
    records = kind.model.objects.visible_to(_user(request)).select_related(*kind.related)
    return get_object_or_404(records, pk=pk)


def _detail_url(kind: RecordKind[Any], record: Record) -> str:
    return reverse(kind.urls["detail"], args=[record.pk])


def _card_context(
    kind: RecordKind[Any], record: Record, *, can_write: bool = True
) -> dict[str, Any]:
    return {"kind": kind, "record": record, "can_write": can_write}


def _page_context(
    request: HttpRequest, kind: RecordKind[Any], record: Record, **forms: BaseForm | None
) -> dict[str, Any]:
    """The detail page's context; `forms` are the ones shown filled in (with their errors)."""
    user, can_write = _user(request), _can_write(request, record)
    related = {kind.name: record}
    can_log = can_write or kind.anyone_may_log
    if kind.timeline:  # planned follow-ups on top, then the history (people.timeline)
        activities: Any = {
            "planned": timeline.planned_of(user, cast(timeline.TimelineRecord, record))
        }
        activities |= _timeline_context(request, kind, record)
    else:
        activities = {"activities": selectors.activities_of(user, **related)}
    return {
        **_card_context(kind, record, can_write=can_write),
        "nav": kind.plural,
        "deals": selectors.deals_of(user, **related),
        "empty_deals": kind.empty_deals,
        **activities,
        "now": timezone.now(),
        "can_log": can_log,
        "activity_url": reverse(kind.urls["activity"], args=[record.pk]),
        "activity_form": forms.get("activity_form")
        or _activity_form(request, record, can_log=can_log),
        "edit_form": forms.get("edit_form"),
        **kind.page_extras(record, forms),
    }


def _activity_form(
    request: HttpRequest, record: Record, data: Any = None, *, can_log: bool = True
) -> RecordActivityForm:
    """The record's activity form (bound to `data` when given): it asks which deal when the
    record has several open deals the user may log on."""
    deals = selectors.open_deals_to_log_on(_user(request), record) if can_log else []
    return RecordActivityForm(data, deals=deals)


def _timeline_context(
    request: HttpRequest, kind: RecordKind[Any], record: Record
) -> dict[str, Any]:
    """One page of the record's timeline, after the query's `after`, of the query's `kind`."""
    wanted = request.GET.get("kind", "")
    wanted = wanted if wanted in timeline.KINDS else ""
    after = timeline.Cursor.parse(request.GET.get("after"))
    return {
        "timeline": timeline.timeline_page(
            _user(request), cast(timeline.TimelineRecord, record), kind=wanted, after=after
        ),
        "timeline_kind": wanted,
        "timeline_kinds": timeline.KIND_LABELS.items(),
        "timeline_url": reverse(f"{kind.name}-timeline", args=[record.pk]),
    }


def _save[R: (Company, Contact, Lead)](
    kind: RecordKind[R], record: R | None, form: OwnedRecordForm
) -> R:
    """Create (`record` None) or update through the services."""
    fields = {**form.changes(), **kind.linked_fields(form)}
    if record is None:
        return create_record(kind.model, by=form.user, fields=fields)
    return update_record(record, by=form.user, changes=fields)


# --- the pages of every kind ---------------------------------------------------------------------


@login_required
@require_GET
def record_list(request: HttpRequest, kind: RecordKind[Any]) -> HttpResponseBase:
    filters = kind.filter_form(request.GET, user=_user(request))
    records = kind.rows(_user(request), **filters.criteria())
    if wants_csv(request):  # every record the filters select, not one page
        return csv_download(filename_stem=kind.plural, columns=kind.csv_columns, records=records)
    context = {
        "kind": kind,
        "nav": kind.plural,
        "filters": filters,
        "page": _paginate(request, records),
        "filtered": filters.is_filtered(),
    }
    # Search as you type and the pager swap only the results.
    template = f"{LIST_PAGE}#results" if swap_target(request) == RESULTS_ID else LIST_PAGE
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def record_create(request: HttpRequest, kind: RecordKind[Any]) -> HttpResponse:
    posted = request.method == "POST"
    form = kind.form(
        request.POST if posted else None,
        user=_user(request),
        initial=kind.initial(request.GET, _user(request)),
    )
    if posted and form.is_valid():
        try:
            record = _save(kind, None, form)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, kind.created_message.format(record=record))
            _warn_if_alike(request, kind, record)
            return redirect(_detail_url(kind, record))
    context = {"kind": kind, "nav": kind.plural, "form": form}
    return render(request, FORM_PAGE, context, status=400 if posted else 200)


def _warn_if_alike(request: HttpRequest, kind: RecordKind[Any], record: Record) -> None:
    """After a create: the form's "Looks like …" warning as a message (without JavaScript too);
    the record is saved all the same."""
    found = looks_like(kind.model, user=_user(request), fields=record.__dict__, exclude=record.pk)
    if found:
        names = ", ".join(f"{alike.record} ({alike.reason})" for alike in found[:3])
        messages.warning(request, f"Looks like {names}. Duplicates lists them to merge.")


@login_required
@require_GET
def record_detail(request: HttpRequest, kind: RecordKind[Any], pk: int) -> HttpResponse:
    record = _record_or_404(request, kind, pk)
    if swap_target(request) == CARD_ID:  # "Cancel" of the inline edit
        context = _card_context(kind, record, can_write=_can_write(request, record))
        return render(request, f"{DETAIL_PAGE}#card", context)
    return render(request, DETAIL_PAGE, _page_context(request, kind, record))


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, kind: RecordKind[Any], pk: int) -> HttpResponse:
    """Inline edit of the record's card: GET shows the form, POST saves through the services.

    htmx swaps the card's form and the saved card in place; without htmx the detail page comes
    with the form (400 on bad input), or the browser goes back to it once saved.
    """
    record = _record_or_404(request, kind, pk)
    if not _can_write(request, record):
        return refusal(request, f"You may view this {kind.name} but not change it.")
    posted = request.method == "POST"
    # The form works on a copy: a rejected form must not leave changed values on `record`.
    form = kind.form(
        request.POST if posted else None, instance=copy.copy(record), user=_user(request)
    )
    if posted and form.is_valid():
        try:
            record = _save(kind, record, form)
        except NotAllowed as error:
            return refusal(request, error)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            card = partial(render, request, f"{DETAIL_PAGE}#card", _card_context(kind, record))
            return _changed(request, f"Saved {record}.", _detail_url(kind, record), card)
    if not wants_fragment(request):
        context = _page_context(request, kind, record, edit_form=form)
        return render(request, DETAIL_PAGE, context, status=400 if posted else 200)
    context = {**_card_context(kind, record), "edit_form": form}
    card_form = render(request, f"{DETAIL_PAGE}#card_form", context)
    return _rejected(card_form, CARD_ID) if posted else card_form


@login_required
@require_POST
def record_delete(request: HttpRequest, kind: RecordKind[Any], pk: int) -> HttpResponse:
    record = _record_or_404(request, kind, pk)
    try:
        delete_record(record, by=_user(request))
    except NotAllowed as error:
        return refusal(request, error)
    messages.success(request, kind.deleted_message.format(record=record))
    return _done(request, reverse(kind.urls["list"]))


def _activities_panel(
    request: HttpRequest,
    kind: RecordKind[Any],
    record: Record,
    form: RecordActivityForm | None = None,
) -> HttpResponse:
    """The activities section alone (with `form`: the one the user sent, with its errors)."""
    context = _page_context(request, kind, record, activity_form=form)
    return render(request, f"{DETAIL_PAGE}#activities", context)


@login_required
@require_POST
def record_activity(request: HttpRequest, kind: RecordKind[Any], pk: int) -> HttpResponse:
    """Log what happened (no due date: done now) or plan what comes next, on this record."""
    record = _record_or_404(request, kind, pk)
    form = _activity_form(request, record, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            log_on_record(
                by=_user(request),
                record=record,
                kind=data["kind"],
                subject=data["subject"],
                body=data["body"],
                due_at=data["due_at"],
                done=not form.is_planned(),
                deal=form.deal_choice(),
            )
        except NotAllowed as error:
            return refusal(request, error)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            panel = partial(_activities_panel, request, kind, record)
            return _changed(request, "Activity saved.", _detail_url(kind, record), panel)
    if wants_fragment(request):
        return _rejected(_activities_panel(request, kind, record, form), ACTIVITIES_ID)
    context = _page_context(request, kind, record, activity_form=form)
    return render(request, DETAIL_PAGE, context, status=400)


@login_required
@require_POST
def record_activity_done(
    request: HttpRequest, kind: RecordKind[Any], pk: int, activity_id: int
) -> HttpResponse:
    """Mark a planned activity of this record done (its reminder will not fire)."""
    record = _record_or_404(request, kind, pk)
    if kind.timeline:  # its page lists its deals' (and contacts') plans too
        listed = timeline.activities_in_scope(_user(request), record)
    else:
        listed = Activity.objects.visible_to(_user(request)).filter(**{kind.name: record})
    activity = get_object_or_404(listed, pk=activity_id)
    try:
        complete_activity(activity=activity, by=_user(request))
    except NotAllowed as error:
        return refusal(request, error)
    panel = partial(_activities_panel, request, kind, record)
    return _changed(request, f"“{activity.subject}” done.", _detail_url(kind, record), panel)


@login_required
@require_GET
def record_timeline(request: HttpRequest, kind: RecordKind[Any], pk: int) -> HttpResponse:
    """The timeline of a contact or company for htmx: the whole section (a kind filter), or the
    entries after `after` ("Load more")."""
    record = _record_or_404(request, kind, pk)
    context = {"kind": kind, "record": record, **_timeline_context(request, kind, record)}
    part = "entries" if request.GET.get("after") else "history"
    return render(request, f"people/_timeline.html#{part}", context)


# --- lead workflows ------------------------------------------------------------------------------


def _lead_page(request: HttpRequest, lead: Lead, **forms: BaseForm) -> HttpResponse:
    """The lead's page with a rejected convert or disqualify form and its errors."""
    return render(request, DETAIL_PAGE, _page_context(request, LEADS, lead, **forms), status=400)


@login_required
@require_POST
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead: Lead = _record_or_404(request, LEADS, pk)
    form = ConvertForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            deal = convert_lead(
                lead=lead,
                by=_user(request),
                pipeline=data["pipeline"],
                title=data["title"].strip(),
                amount=data["amount"],
            )
        except NotAllowed as error:
            return refusal(request, error)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, f"{lead} converted: deal “{deal.title}” created.")
            return _done(request, _deal_url(deal))
    return _lead_page(request, lead, convert_form=form)


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead: Lead = _record_or_404(request, LEADS, pk)
    form = DisqualifyForm(request.POST)
    if form.is_valid():
        try:
            disqualify_lead(lead=lead, by=_user(request), reason=form.cleaned_data["reason"])
        except NotAllowed as error:
            return refusal(request, error)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, f"{lead} disqualified.")
            return _done(request, _detail_url(LEADS, lead))
    return _lead_page(request, lead, disqualify_form=form)


# --- the company autocomplete --------------------------------------------------------------------


@login_required
@require_GET
def company_options(request: HttpRequest) -> HttpResponse:
    """The company autocomplete of every form that names a company (contact form, the board's
    quick add, the deal page): up to ten names as <option>s for a <datalist>."""
    typed = next(
        (request.GET[key] for key in ("company_name", "company", "q") if request.GET.get(key)), ""
    )
    names = company_names_matching(typed, user=_user(request), limit=COMPANY_OPTIONS_LIMIT)
    return render(request, "people/_company_options.html", {"names": names})
