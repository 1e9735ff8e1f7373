"""Duplicates and merge pages (SPEC §9 Merge), for the three kinds of record.

`<plural>/duplicates/` lists the groups of likely duplicates the user can see (tabs for the
three kinds) with a Merge action; `<plural>/<pk>/merge/` (POST `other`) merges through
`people.merge`; `<plural>/similar/` is the "Looks like …" warning the create and edit forms
fetch as the user types (it never stops a save). Thin views, as in `people.views`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from people.duplicates import duplicate_groups, looks_like
from people.kinds import COMPANIES, CONTACTS, LEADS, RecordKind
from people.merge import MERGERS
from people.views import _done, _record_or_404, _user
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import refusal
from pipeline_crm.ids import parse_id

KINDS = (CONTACTS, COMPANIES, LEADS)
KIND_OF = {kind.model: kind for kind in KINDS}


@login_required
@require_GET
def duplicates(request: HttpRequest, kind: RecordKind[Any]) -> HttpResponse:
    groups = duplicate_groups(kind.model, user=_user(request))
    context = {"kind": kind, "kinds": KINDS, "nav": kind.plural, "groups": groups}
    return render(request, "people/duplicates.html", context)


@login_required
@require_POST
def merge(request: HttpRequest, kind: RecordKind[Any], pk: int) -> HttpResponse:
    """Merge the posted `other` into this record: 404 when either is out of sight or gone, 403
    when one may be seen but not changed."""
    survivor = _record_or_404(request, kind, pk)
    other_id = parse_id(request.POST.get("other"))
    visible = kind.model.objects.visible_to(_user(request))
    other = visible.filter(pk=other_id).first() if other_id is not None else None
    if other is None:
        return refusal(request, f"The {kind.name} to merge is gone or out of sight.", status=404)
    label = str(other)
    try:
        result = MERGERS[kind.name](survivor=survivor, other=other, by=_user(request))
    except DomainError as error:  # 403 not yours, 404 merged meanwhile, 400 itself
        return refusal(request, error)
    messages.success(request, f"Merged “{label}” into {result.survivor}.")
    back = request.POST.get("next") == "duplicates"
    url = reverse(
        kind.urls["duplicates"] if back else kind.urls["detail"], args=[] if back else [pk]
    )
    return _done(request, url)


@login_required
@require_GET
def similar(request: HttpRequest, kind: RecordKind[Any]) -> HttpResponse:
    """The records the form's current values look like (`exclude`: the one being edited)."""
    found = looks_like(
        kind.model,
        user=_user(request),
        fields={name: request.GET.get(name, "")[:200] for name in request.GET},
        exclude=parse_id(request.GET.get("exclude")),
    )
    alike = [
        {"record": a.record, "reason": a.reason, "kind": KIND_OF[type(a.record)]} for a in found
    ]
    return render(request, "people/_looks_like.html", {"alike": alike})
