"""`/settings/audit/`: the audit log, newest first, a page at a time, with its filters and its
CSV (every matching entry; the download is itself an entry). Admins only: everyone else gets
404, like every settings page."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.web import AuthedRequest, admin_required
from audit.filters import AuditFilter
from audit.models import AuditEntry
from pipeline_crm.csv_files import Column, csv_download, wants_csv
from pipeline_crm.htmx import wants_fragment

PAGE = "audit/log.html"
PAGE_SIZE = 50

COLUMNS = (
    Column("ID", lambda e: e.pk),
    Column("When", lambda e: e.at),
    Column("Actor", lambda e: e.actor_label),
    Column("Action", lambda e: e.get_action_display()),
    Column("Target type", lambda e: e.target_type),
    Column("Target ID", lambda e: e.target_id),
    Column("Target", lambda e: e.target_label),
    Column("IP address", lambda e: e.ip),
    Column("Details", lambda e: e.details_text),
)


@admin_required
@require_GET
def audit_log(request: AuthedRequest) -> HttpResponseBase:
    filters = AuditFilter(request.GET, queryset=AuditEntry.objects.all())
    entries = filters.qs
    if wants_csv(request):
        return csv_download(filename_stem="audit-log", columns=COLUMNS, records=entries)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "settings",
        "settings_tab": "audit",
        "filters": filters,
        "page": page,
        "retention_days": settings.AUDIT_RETENTION_DAYS,
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
    }
    if wants_fragment(request):
        return render(request, f"{PAGE}#entries", context)
    return render(request, PAGE, context)
