"""`/settings/scoring/` (admins only; everyone else gets 404): the lead scoring rules (list, add,
edit, delete, each answered with the re-drawn rules by htmx) and the learned model (its AUC and
weights, retrained on demand). Every change goes through `contacts.services` /
`people.learned_scoring`; saving a rule scores every lead again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.web import AuthedRequest, admin_required
from contacts import services
from contacts.models import ScoringRule
from contacts.scoring import FIELDS
from people.learned_scoring import model_summary, train_scoring_model
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import toast, wants_fragment

PAGE = "people/scoring_settings.html"


class RuleForm(forms.Form):
    field = forms.ChoiceField(choices=[(f.name, f.label) for f in FIELDS.values()])
    operator = forms.ChoiceField(choices=ScoringRule.Operator.choices)
    value = forms.CharField(
        required=False,
        max_length=500,
        help_text="Several values (for “is one of”): separate them with commas. Yes/no: true "
        "or false.",
    )
    points = forms.IntegerField(min_value=-100, max_value=100)

    @classmethod
    def for_rule(cls, rule: ScoringRule, *, prefix: str) -> RuleForm:
        value = ", ".join(map(str, rule.value)) if isinstance(rule.value, list) else rule.value
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        initial = {"field": rule.field, "operator": rule.operator, "value": shown}
        return cls(prefix=prefix, initial={**initial, "points": rule.points})


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "nav": "settings",
        "settings_tab": "scoring",
        "rules": ScoringRule.objects.order_by("id"),
        "new_form": RuleForm(prefix="new"),
        "model": model_summary(),
        **extra,
    }


def _answer(
    request: AuthedRequest, part: str, *, status: int = 200, message: str = "", **extra: Any
) -> HttpResponse:
    template = f"{PAGE}#{part}" if wants_fragment(request) else PAGE
    response = render(request, template, _context(**extra), status=status)
    return toast(response, message, "success") if message else response


def _save(request: AuthedRequest, form: RuleForm, rule: ScoringRule | None) -> bool:
    if not form.is_valid():
        return False
    try:
        services.save_scoring_rule(by=request.user, fields=form.cleaned_data, rule=rule)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return False
    return True


@admin_required
@require_GET
def scoring_settings(request: AuthedRequest) -> HttpResponse:
    return render(request, PAGE, _context())


@admin_required
@require_POST
def create_rule(request: AuthedRequest) -> HttpResponse:
    form = RuleForm(request.POST, prefix="new")
    if _save(request, form, None):
        return _answer(request, "rules", message="Rule added; every lead was scored again.")
    return _answer(request, "rules", status=422, new_form=form)


@admin_required
@require_http_methods(["GET", "POST"])
def edit_rule(request: AuthedRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ScoringRule, pk=rule_id)
    if request.method == "GET":
        return _answer(
            request, "rules", editing=rule, edit_form=RuleForm.for_rule(rule, prefix="edit")
        )
    form = RuleForm(request.POST, prefix="edit")
    if _save(request, form, rule):
        return _answer(request, "rules", message="Rule saved; every lead was scored again.")
    return _answer(request, "rules", status=422, editing=rule, edit_form=form)


@admin_required
@require_POST
def delete_rule(request: AuthedRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(ScoringRule, pk=rule_id)
    services.delete_scoring_rule(by=request.user, rule=rule)
    return _answer(request, "rules", message="Rule deleted; every lead was scored again.")


@admin_required
@require_POST
def retrain(request: AuthedRequest) -> HttpResponse:
    model = train_scoring_model(by=request.user)
    message = "Model retrained." if model else "Not enough leads with an outcome yet."
    return _answer(request, "learned", message=message)
