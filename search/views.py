"""The search page `/search/?q=` and the top bar's dropdown (one view, two partials)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pipeline_crm.htmx import swap_target
from search import selectors

PAGE = "search/results.html"
RESULTS_ID = "search-results"  # the page's results, swapped as one types in its box
SUGGESTIONS_ID = "search-suggestions"  # the top bar's dropdown
PAGE_LIMIT = 50
SUGGESTIONS_LIMIT = 8
LABELS = {"deal": "Deals", "contact": "Contacts", "company": "Companies", "lead": "Leads"}


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    target = swap_target(request)
    if target == SUGGESTIONS_ID:
        hits = selectors.search(user=request.user, q=q, limit=SUGGESTIONS_LIMIT)
        return render(request, f"{PAGE}#suggestions", {"hits": hits, "q": q.strip()})
    wanted = request.GET.get("type", "")
    types = [wanted] if wanted in selectors.TYPES else None
    hits = selectors.search(user=request.user, q=q, limit=PAGE_LIMIT, types=types)
    groups = [
        {"type": kind, "label": LABELS[kind], "hits": [hit for hit in hits if hit.type == kind]}
        for kind in selectors.TYPES
    ]
    context = {
        "q": q.strip(),
        "type": wanted if types else "",
        "types": LABELS,
        "groups": [group for group in groups if group["hits"]],
        "count": len(hits),
        "too_short": selectors.parse(q) is None,
        "limit": PAGE_LIMIT,
    }
    template = f"{PAGE}#results" if target == RESULTS_ID else PAGE
    return render(request, template, context)
