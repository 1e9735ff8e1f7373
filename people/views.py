"""Leads, contacts and companies pages (SPEC §3, §4, §8 Pages).

Thin views: they read through `contacts.selectors` (always `visible_to(_user(request))`, so a record
outside the user's sight is a 404), validate with `contacts.forms` and change data only through
`contacts.services` and `followups.services.log_activity`, whose NotAllowed becomes a 403 page.
htmx requests get the template partial they swap; the same URLs work as plain pages without JS.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from accounts.visibility import can_write_owned_by
from contacts.models import Company, Contact, Lead
from contacts.selectors import company_names_matching
from contacts.services import company_named, create_record, delete_record, disqualify_lead
from contacts.services import update_record as update_record_service
from deals.models import Deal
from followups.forms import ActivityForm
from followups.models import Activity
from followups.services import complete_activity, log_activity
from people import selectors
from people.forms import (
    CompanyFilterForm,
    CompanyForm,
    ContactFilterForm,
    ContactForm,
    ConvertForm,
    DisqualifyForm,
    LeadFilterForm,
    LeadForm,
    OwnedRecordForm,
)
from people.services import convert_lead
from pipeline_crm.errors import DomainError, NotAllowed
from pipeline_crm.htmx import refusal, swap_target, wants_fragment

PAGE_SIZE = 25
COMPANY_OPTIONS_LIMIT = 10

# --- shared helpers ------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is login_required)."""
    return cast(User, request.user)


def _paginate(request: HttpRequest, records: Any) -> Page:
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return page


def _add_domain_error(form: Any, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _deal_url(deal: Deal) -> str:
    """The deal page when the board app provides it, else the board."""
    try:
        return reverse("deal-detail", args=[deal.pk])
    except NoReverseMatch:
        return reverse("board")


def _can_write(request: HttpRequest, record: Model) -> bool:
    return can_write_owned_by(_user(request), getattr(record, "owner_id", None))


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful write: htmx gets a client redirect, a plain form a 303."""
    if wants_fragment(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _edit_record(
    request: HttpRequest,
    record: Model,
    *,
    form_class: type[OwnedRecordForm],
    template: str,
    card_context: Callable[[Any], dict[str, Any]],
    page_context: Callable[..., dict[str, Any]],
    save: Callable[[Any, OwnedRecordForm], Any],
    detail_url: str,
) -> HttpResponse:
    """Inline edit of a record's card: GET shows the form, POST saves through the services.

    htmx swaps `#card_form` / `#card` in place; without htmx the detail page is rendered with the
    form (400 on bad input) or the browser is redirected back to it.
    """
    if not _can_write(request, record):
        what = record._meta.verbose_name
        return refusal(request, f"You may view this {what} but not change it.")
    # The form works on a copy: a rejected form must not leave changed values on `record`.
    form = form_class(
        request.POST if request.method == "POST" else None,
        instance=copy.copy(record),
        user=_user(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = save(record, form)
        except NotAllowed as error:
            return refusal(request, error)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            if wants_fragment(request):
                return render(request, f"{template}#card", card_context(record))
            messages.success(request, f"Saved {record}.")
            return redirect(detail_url)
    rejected = request.method == "POST"
    if wants_fragment(request):
        # 422: app.js tells htmx to swap it, so the form comes back with its errors in place.
        context = {**card_context(record), "edit_form": form}
        return render(request, f"{template}#card_form", context, status=422 if rejected else 200)
    status = 400 if rejected else 200
    return render(request, template, page_context(request, record, edit_form=form), status=status)


def _log_activity(
    request: HttpRequest,
    *,
    record: Model,
    related: dict[str, Any],
    page_context: Callable[..., dict[str, Any]],
    template: str,
    detail_url: str,
) -> HttpResponse:
    form = ActivityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            log_activity(
                by=_user(request),
                kind=data["kind"],
                subject=data["subject"],
                body=data["body"],
                due_at=data["due_at"],
                done=not form.is_planned(),
                **related,
            )
        except NotAllowed as error:
            return refusal(request, error)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            if wants_fragment(request):
                context = page_context(request, record)
                return render(request, "contacts/_activities.html", context)
            messages.success(request, "Activity saved.")
            return redirect(detail_url)
    context = page_context(request, record, activity_form=form)
    if wants_fragment(request):
        return render(request, "contacts/_activities.html", context, status=422)
    return render(request, template, context, status=400)


def _complete_activity(
    request: HttpRequest,
    *,
    record: Model,
    activity_id: int,
    related: dict[str, Any],
    page_context: Callable[..., dict[str, Any]],
    detail_url: str,
) -> HttpResponse:
    """Mark a planned activity of this record done (its reminder will not fire)."""
    activity = get_object_or_404(
        Activity.objects.visible_to(_user(request)).filter(**related), pk=activity_id
    )
    try:
        complete_activity(activity=activity, by=_user(request))
    except NotAllowed as error:
        return refusal(request, error)
    if wants_fragment(request):
        return render(request, "contacts/_activities.html", page_context(request, record))
    messages.success(request, f"“{activity.subject}” done.")
    return redirect(detail_url)


def _list_response(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    if wants_fragment(request) and swap_target(request) == "results":
        return render(request, f"{template}#results", context)
    return render(request, template, context)


# --- leads ---------------------------------------------------------------------------------------


def _lead_or_404(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(Lead.objects.visible_to(_user(request)).select_related("owner"), pk=pk)


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    filters = LeadFilterForm(request.GET, user=_user(request))
    values = filters.values()
    leads = selectors.leads_for(
        _user(request),
        q=values.get("q", ""),
        status=values.get("status", ""),
        source=values.get("source", ""),
        owner=filters.owner_user(),
        sort=values.get("sort", "-score"),
    )
    page = _paginate(request, leads)
    for lead in page.object_list:
        lead.parts = selectors.score_parts(lead.score_breakdown)
    context = {"nav": "leads", "filters": filters, "page": page, "filtered": filters.is_filtered()}
    return _list_response(request, "contacts/lead_list.html", context)


def _lead_card_context(lead: Lead, *, can_write: bool = True) -> dict[str, Any]:
    return {
        "lead": lead,
        "can_write": can_write,
        "parts": selectors.score_parts(lead.score_breakdown),
    }


def _lead_page_context(request: HttpRequest, lead: Lead, **forms: Any) -> dict[str, Any]:
    can_write = _can_write(request, lead)
    return {
        **_lead_card_context(lead, can_write=can_write),
        "nav": "leads",
        "deals": selectors.deals_of(_user(request), lead=lead),
        "activities": selectors.activities_of(_user(request), lead=lead),
        "now": timezone.now(),
        "can_log": can_write,
        "activity_url": reverse("lead-activity", args=[lead.pk]),
        "activity_form": forms.get("activity_form") or ActivityForm(),
        "convert_form": forms.get("convert_form") or ConvertForm(),
        "disqualify_form": forms.get("disqualify_form") or DisqualifyForm(),
        "edit_form": forms.get("edit_form"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST if request.method == "POST" else None, user=_user(request))
    if request.method == "POST" and form.is_valid():
        try:
            lead = create_record(Lead, by=_user(request), fields=form.changes())
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, f"Lead {lead} created (score {lead.score}).")
            return redirect("lead-detail", pk=lead.pk)
    status = 400 if request.method == "POST" else 200
    context = {"nav": "leads", "form": form, "title": "New lead", "cancel_url": reverse("leads")}
    return render(request, "contacts/record_form.html", context, status=status)


@login_required
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    if swap_target(request) == "record-card":  # "Cancel" of the inline edit
        return render(
            request,
            "contacts/lead_detail.html#card",
            _lead_card_context(lead, can_write=_can_write(request, lead)),
        )
    return render(request, "contacts/lead_detail.html", _lead_page_context(request, lead))


def _save_lead(lead: Lead, form: OwnedRecordForm) -> Lead:
    return update_record_service(lead, by=form.user, changes=form.changes())


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_record(
        request,
        _lead_or_404(request, pk),
        detail_url=reverse("lead-detail", args=[pk]),
        form_class=LeadForm,
        template="contacts/lead_detail.html",
        card_context=_lead_card_context,
        page_context=_lead_page_context,
        save=_save_lead,
    )


@login_required
@require_POST
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
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
    context = _lead_page_context(request, lead, convert_form=form)
    return render(request, "contacts/lead_detail.html", context, status=400)


@login_required
@require_POST
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
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
            return _done(request, reverse("lead-detail", args=[lead.pk]))
    context = _lead_page_context(request, lead, disqualify_form=form)
    return render(request, "contacts/lead_detail.html", context, status=400)


@login_required
@require_POST
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    try:
        delete_record(lead, by=_user(request))
    except NotAllowed as error:
        return refusal(request, error)
    messages.success(request, f"Lead {lead} deleted.")
    return _done(request, reverse("leads"))


@login_required
@require_POST
def lead_activity(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    return _log_activity(
        request,
        record=lead,
        related={"lead": lead},
        page_context=_lead_page_context,
        template="contacts/lead_detail.html",
        detail_url=reverse("lead-detail", args=[lead.pk]),
    )


@login_required
@require_POST
def lead_activity_done(request: HttpRequest, pk: int, activity_id: int) -> HttpResponse:
    lead = _lead_or_404(request, pk)
    return _complete_activity(
        request,
        record=lead,
        activity_id=activity_id,
        related={"lead": lead},
        page_context=_lead_page_context,
        detail_url=reverse("lead-detail", args=[lead.pk]),
    )


# --- contacts ------------------------------------------------------------------------------------


def _contact_or_404(request: HttpRequest, pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.visible_to(_user(request)).select_related("company", "owner"), pk=pk
    )


@login_required
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    filters = ContactFilterForm(request.GET)
    values = filters.values()
    contacts = selectors.contacts_for(
        _user(request), q=values.get("q", ""), sort=values.get("sort", "name")
    )
    context = {
        "nav": "contacts",
        "filters": filters,
        "page": _paginate(request, contacts),
        "filtered": filters.is_filtered(),
    }
    return _list_response(request, "contacts/contact_list.html", context)


def _contact_card_context(contact: Contact, *, can_write: bool = True) -> dict[str, Any]:
    return {"contact": contact, "can_write": can_write}


def _contact_page_context(request: HttpRequest, contact: Contact, **forms: Any) -> dict[str, Any]:
    return {
        **_contact_card_context(contact, can_write=_can_write(request, contact)),
        "nav": "contacts",
        "deals": selectors.deals_of(_user(request), contact=contact),
        "activities": selectors.activities_of(_user(request), contact=contact),
        "now": timezone.now(),
        # Any signed-in user may note a call with a contact they can read; it is theirs.
        "can_log": True,
        "activity_url": reverse("contact-activity", args=[contact.pk]),
        "activity_form": forms.get("activity_form") or ActivityForm(),
        "edit_form": forms.get("edit_form"),
    }


def _save_contact(contact: Contact | None, form: OwnedRecordForm) -> Contact:
    # One transaction: a refused contact must not leave a freshly created company behind.
    with transaction.atomic():
        fields = form.changes()
        fields["company"] = company_named(form.cleaned_data["company_name"], by=form.user)
        if contact is None:
            return create_record(Contact, by=form.user, fields=fields)
        return update_record_service(contact, by=form.user, changes=fields)


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    company_id = request.GET.get("company", "")
    company = Company.objects.filter(pk=company_id).first() if company_id.isdigit() else None
    if company is not None:  # "Add contact" from a company page
        initial["company_name"] = company.name
    form = ContactForm(
        request.POST if request.method == "POST" else None, user=_user(request), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            contact = _save_contact(None, form)
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, f"Contact {contact} created.")
            return redirect("contact-detail", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "nav": "contacts",
        "form": form,
        "title": "New contact",
        "cancel_url": reverse("contacts"),
    }
    return render(request, "contacts/record_form.html", context, status=status)


@login_required
@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(request, pk)
    if swap_target(request) == "record-card":
        return render(
            request,
            "contacts/contact_detail.html#card",
            _contact_card_context(contact, can_write=_can_write(request, contact)),
        )
    return render(request, "contacts/contact_detail.html", _contact_page_context(request, contact))


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_record(
        request,
        _contact_or_404(request, pk),
        detail_url=reverse("contact-detail", args=[pk]),
        form_class=ContactForm,
        template="contacts/contact_detail.html",
        card_context=_contact_card_context,
        page_context=_contact_page_context,
        save=_save_contact,
    )


@login_required
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(request, pk)
    try:
        delete_record(contact, by=_user(request))
    except NotAllowed as error:
        return refusal(request, error)
    messages.success(request, f"Contact {contact} deleted.")
    return _done(request, reverse("contacts"))


@login_required
@require_POST
def contact_activity(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(request, pk)
    return _log_activity(
        request,
        record=contact,
        related={"contact": contact},
        page_context=_contact_page_context,
        template="contacts/contact_detail.html",
        detail_url=reverse("contact-detail", args=[contact.pk]),
    )


@login_required
@require_POST
def contact_activity_done(request: HttpRequest, pk: int, activity_id: int) -> HttpResponse:
    contact = _contact_or_404(request, pk)
    return _complete_activity(
        request,
        record=contact,
        activity_id=activity_id,
        related={"contact": contact},
        page_context=_contact_page_context,
        detail_url=reverse("contact-detail", args=[contact.pk]),
    )


# --- companies -----------------------------------------------------------------------------------


def _company_or_404(request: HttpRequest, pk: int) -> Company:
    return get_object_or_404(
        Company.objects.visible_to(_user(request)).select_related("owner"), pk=pk
    )


@login_required
@require_GET
def company_list(request: HttpRequest) -> HttpResponse:
    filters = CompanyFilterForm(request.GET)
    values = filters.values()
    companies = selectors.companies_for(
        _user(request), q=values.get("q", ""), sort=values.get("sort", "name")
    )
    context = {
        "nav": "companies",
        "filters": filters,
        "page": _paginate(request, companies),
        "filtered": filters.is_filtered(),
    }
    return _list_response(request, "contacts/company_list.html", context)


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


def _company_card_context(company: Company, *, can_write: bool = True) -> dict[str, Any]:
    return {"company": company, "can_write": can_write}


def _company_page_context(request: HttpRequest, company: Company, **forms: Any) -> dict[str, Any]:
    contacts = company.contacts.select_related("owner").order_by("last_name", "first_name", "id")
    return {
        **_company_card_context(company, can_write=_can_write(request, company)),
        "nav": "companies",
        "contacts": contacts[: selectors.DETAIL_LIMIT],
        "contact_count": contacts.count(),
        "deals": selectors.deals_of(_user(request), company=company),
        "activities": selectors.activities_of(_user(request), company=company),
        "now": timezone.now(),
        "can_log": True,
        "activity_url": reverse("company-activity", args=[company.pk]),
        "activity_form": forms.get("activity_form") or ActivityForm(),
        "edit_form": forms.get("edit_form"),
    }


def _save_company(company: Company, form: OwnedRecordForm) -> Company:
    return update_record_service(company, by=form.user, changes=form.changes())


@login_required
@require_http_methods(["GET", "POST"])
def company_create(request: HttpRequest) -> HttpResponse:
    form = CompanyForm(request.POST if request.method == "POST" else None, user=_user(request))
    if request.method == "POST" and form.is_valid():
        try:
            company = create_record(Company, by=_user(request), fields=form.changes())
        except DomainError as error:
            _add_domain_error(form, error)
        else:
            messages.success(request, f"Company {company} created.")
            return redirect("company-detail", pk=company.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "nav": "companies",
        "form": form,
        "title": "New company",
        "cancel_url": reverse("companies"),
    }
    return render(request, "contacts/record_form.html", context, status=status)


@login_required
@require_GET
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company_or_404(request, pk)
    if swap_target(request) == "record-card":
        return render(
            request,
            "contacts/company_detail.html#card",
            _company_card_context(company, can_write=_can_write(request, company)),
        )
    return render(request, "contacts/company_detail.html", _company_page_context(request, company))


@login_required
@require_http_methods(["GET", "POST"])
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_record(
        request,
        _company_or_404(request, pk),
        detail_url=reverse("company-detail", args=[pk]),
        form_class=CompanyForm,
        template="contacts/company_detail.html",
        card_context=_company_card_context,
        page_context=_company_page_context,
        save=_save_company,
    )


@login_required
@require_POST
def company_delete(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company_or_404(request, pk)
    try:
        delete_record(company, by=_user(request))
    except NotAllowed as error:
        return refusal(request, error)
    messages.success(request, f"Company {company} deleted; its contacts and deals remain.")
    return _done(request, reverse("companies"))


@login_required
@require_POST
def company_activity(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company_or_404(request, pk)
    return _log_activity(
        request,
        record=company,
        related={"company": company},
        page_context=_company_page_context,
        template="contacts/company_detail.html",
        detail_url=reverse("company-detail", args=[company.pk]),
    )


@login_required
@require_POST
def company_activity_done(request: HttpRequest, pk: int, activity_id: int) -> HttpResponse:
    company = _company_or_404(request, pk)
    return _complete_activity(
        request,
        record=company,
        activity_id=activity_id,
        related={"company": company},
        page_context=_company_page_context,
        detail_url=reverse("company-detail", args=[company.pk]),
    )
