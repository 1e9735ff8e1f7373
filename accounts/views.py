"""User and team settings: `/settings/users/` and `/settings/teams/` (admins only; everyone
else gets 404, like every settings page: `admin_required`).

Each page is one template with partials: the list (re-fetched whenever a `users-changed` or
`teams-changed` event fires) and the dialog forms. A form answers 422 with its errors in the
dialog, or, once the service took the change, closes the dialog, toasts and fires the event.
Every change goes through `accounts.services`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.forms import Form
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.forms import (
    DeactivateForm,
    InviteForm,
    PasswordResetForm,
    TeamForm,
    UserEditForm,
    UserFilterForm,
    add_domain_error,
)
from accounts.models import Team, User
from accounts.selectors import (
    api_token_of,
    default_reassignee,
    open_work,
    team_deletion_effects,
    team_rows,
    user_rows,
)
from accounts.web import AuthedRequest, admin_required
from pipeline_crm.client_ip import client_ip
from pipeline_crm.csv_files import Column, csv_download, wants_csv
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import (
    add_trigger,
    error_response,
    open_dialog,
    retarget,
    toast,
    wants_fragment,
)
from pipeline_crm.rate_limit import allow

USERS_PAGE = "accounts/users.html"
TEAMS_PAGE = "accounts/teams.html"


def _dialog(
    request: AuthedRequest, partial: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """A form in the page's dialog: opened on GET, shown again with its errors (422)."""
    response = render(request, partial, context, status=status)
    if status >= 400:
        return retarget(response, "#dialog-body", "innerHTML")
    return open_dialog(response)


def _done(request: AuthedRequest, message: str, *, event: str, page: str) -> HttpResponse:
    """The change is made: close the dialog, say so, and let the list re-fetch itself."""
    if not request.htmx:
        return redirect(page)
    response = HttpResponse(status=200)
    add_trigger(response, event)
    add_trigger(response, "dialog:close")
    return toast(response, message, "success")


def _submit(
    request: AuthedRequest,
    partial: str,
    form: Form,
    save: Callable[[], str],
    done: Callable[[AuthedRequest, str], HttpResponse],
    **context: Any,
) -> HttpResponse:
    """A dialog form posted: `save` (the service call) when valid, saying what it did; its
    refusal shown on the form, 422 in the dialog, like the form's own errors."""
    if form.is_valid():
        try:
            message = save()
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return done(request, message)
    return _dialog(request, partial, {**context, "form": form}, status=422)


def _user_done(request: AuthedRequest, message: str) -> HttpResponse:
    return _done(request, message, event="users-changed", page="user-settings")


def _team_done(request: AuthedRequest, message: str) -> HttpResponse:
    return _done(request, message, event="teams-changed", page="team-settings")


def _names(people: Any) -> str:
    return "; ".join(str(person) for person in people.all())


USER_COLUMNS = (
    Column("ID", lambda u: u.pk),
    Column("Name", lambda u: u.get_full_name()),
    Column("Username", lambda u: u.username),
    Column("E-mail", lambda u: u.email),
    Column("Role", lambda u: u.role),
    Column("Teams", lambda u: "; ".join(team.name for team in u.teams.all())),
    Column("Status", lambda u: u.account_status),
    Column("Last sign-in", lambda u: u.last_login),
)
TEAM_COLUMNS = (
    Column("ID", lambda t: t.pk),
    Column("Team", lambda t: t.name),
    Column("Managers", lambda t: _names(t.managers)),
    Column("Members", lambda t: _names(t.members)),
)

# --- users ------------------------------------------------------------------------------------


@admin_required
@require_GET
def users(request: AuthedRequest) -> HttpResponseBase:
    filters = UserFilterForm(request.GET)
    chosen = filters.to_filters()
    rows = user_rows(**chosen)
    context = {
        "nav": "settings",
        "settings_tab": "users",
        "filters": filters,
        "users": rows,
        "filtered": any(chosen.values()),
    }
    if wants_csv(request):
        return csv_download(filename_stem="users", columns=USER_COLUMNS, records=rows)
    if wants_fragment(request):
        return render(request, f"{USERS_PAGE}#user-table", context)
    return render(request, USERS_PAGE, context)


@admin_required
@require_http_methods(["GET", "POST"])
def invite_user(request: AuthedRequest) -> HttpResponse:
    partial = f"{USERS_PAGE}#invite-form"
    if request.method == "GET":
        return _dialog(request, partial, {"form": InviteForm(prefix="invite")})
    form = InviteForm(request.POST, prefix="invite")

    def save() -> str:
        user = services.invite_user(by=request.user, **form.cleaned_data)
        return f"Invitation on its way to {user.email}."

    return _submit(request, partial, form, save, _user_done)


@admin_required
@require_http_methods(["GET", "POST"])
def edit_user(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    partial = f"{USERS_PAGE}#edit-form"
    if request.method == "GET":
        form = UserEditForm.for_user(user, prefix="edit")
        return _dialog(request, partial, {"form": form, "person": user})
    form = UserEditForm.for_user(user, data=request.POST, prefix="edit")

    def save() -> str:
        saved = services.update_user(user=user, by=request.user, changes=form.changes())
        return f"{saved} saved."

    return _submit(request, partial, form, save, _user_done, person=user)


@admin_required
@require_http_methods(["GET", "POST"])
def deactivate_user(request: AuthedRequest, user_id: int) -> HttpResponse:
    """GET: who takes over, and what they take over. POST: deactivate and hand it over."""
    user = get_object_or_404(User, pk=user_id)
    partial = f"{USERS_PAGE}#deactivate-form"
    if request.method == "GET":
        taker = default_reassignee(user=user, by=request.user)
        form = DeactivateForm(user=user, prefix="deactivate", initial={"reassign_to": taker})
        return _dialog(request, partial, {"form": form, "person": user, "work": open_work(user)})
    form = DeactivateForm(request.POST, user=user, prefix="deactivate")
    work = open_work(user)

    def save() -> str:
        taker = form.cleaned_data["reassign_to"]
        services.deactivate_user(user=user, by=request.user, reassign_to=taker)
        handed = f" {work.summary()} went to {taker}." if work.total else ""
        return f"{user} is deactivated.{handed}"

    return _submit(request, partial, form, save, _user_done, person=user, work=work)


@admin_required
@require_POST
def reactivate_user(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    try:
        services.reactivate_user(user=user, by=request.user)
    except DomainError as exc:
        return error_response(exc)
    return _user_done(request, f"{user} may sign in again.")


@admin_required
@require_POST
def resend_invitation(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    try:
        services.resend_invitation(user=user, by=request.user)
    except DomainError as exc:
        return error_response(exc)
    return _user_done(request, f"A new invitation is on its way to {user.email}.")


# --- teams ------------------------------------------------------------------------------------


@admin_required
@require_GET
def teams(request: AuthedRequest) -> HttpResponseBase:
    rows = team_rows()
    context = {"nav": "settings", "settings_tab": "teams", "teams": rows}
    if wants_csv(request):
        return csv_download(filename_stem="teams", columns=TEAM_COLUMNS, records=rows)
    if wants_fragment(request):
        return render(request, f"{TEAMS_PAGE}#team-list", context)
    return render(request, TEAMS_PAGE, context)


@admin_required
@require_http_methods(["GET", "POST"])
def create_team(request: AuthedRequest) -> HttpResponse:
    partial = f"{TEAMS_PAGE}#team-form"
    if request.method == "GET":
        return _dialog(request, partial, {"form": TeamForm(prefix="team")})
    form = TeamForm(request.POST, prefix="team")

    def save() -> str:
        team = services.create_team(by=request.user, **form.cleaned_data)
        return f"Team “{team.name}” created."

    return _submit(request, partial, form, save, _team_done)


@admin_required
@require_http_methods(["GET", "POST"])
def edit_team(request: AuthedRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=team_id)
    partial = f"{TEAMS_PAGE}#team-form"
    if request.method == "GET":
        return _dialog(request, partial, {"form": TeamForm(team=team, prefix="team"), "team": team})
    form = TeamForm(request.POST, team=team, prefix="team")

    def save() -> str:
        saved = services.update_team(team=team, by=request.user, changes=form.changes())
        return f"Team “{saved.name}” saved."

    return _submit(request, partial, form, save, _team_done, team=team)


@admin_required
@require_http_methods(["GET", "POST"])
def delete_team(request: AuthedRequest, team_id: int) -> HttpResponse:
    """GET: what deleting it changes (who loses sight of what, which quotas go). POST: delete."""
    team = get_object_or_404(team_rows(), pk=team_id)
    if request.method == "GET":
        context = {"team": team, "effects": team_deletion_effects(team)}
        return _dialog(request, f"{TEAMS_PAGE}#delete-form", context)
    try:
        services.delete_team(team=team, by=request.user)
    except DomainError as exc:
        return error_response(exc)
    return _team_done(request, f"Team “{team.name}” deleted.")


# --- my API token ---------------------------------------------------------------------------


@login_required
@require_GET
def api_token(request: AuthedRequest) -> HttpResponse:
    """The signed-in user's own API token: when it was made and its last characters (the whole
    key is shown once, by the token endpoint), and a button to revoke it."""
    return render(
        request,
        "accounts/api_token.html",
        {"token": api_token_of(request.user), "nav": "my-settings"},
    )


@login_required
@require_POST
def revoke_api_token(request: AuthedRequest) -> HttpResponse:
    if services.revoke_api_token(by=request.user):
        messages.success(request, "Your API token is revoked: scripts using it are refused now.")
    else:
        messages.info(request, "You had no API token.")
    return redirect("my-api-token")


# --- password reset -------------------------------------------------------------------------


RESET_WINDOW_SECONDS = 60 * 60
RESET_REFUSED = (
    "Too many password reset requests from this address or for this e-mail. "
    "Please try again in an hour."
)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """At most PASSWORD_RESET_LIMIT requests an hour per client IP and per e-mail address,
    counted whether or not an account has that address, so the answer tells nothing about
    who has an account."""

    def form_valid(self, form: DjangoPasswordResetForm) -> HttpResponse:
        email = hashlib.sha256(form.cleaned_data["email"].casefold().encode()).hexdigest()
        keys = (f"password-reset:ip:{client_ip(self.request)}", f"password-reset:email:{email}")
        allowed = all(
            allow(key, limit=settings.PASSWORD_RESET_LIMIT, window_seconds=RESET_WINDOW_SECONDS)
            for key in keys
        )
        if not allowed:
            form.add_error(None, RESET_REFUSED)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(RESET_WINDOW_SECONDS)
            return response
        return super().form_valid(form)


password_reset = ThrottledPasswordResetView.as_view(
    form_class=PasswordResetForm, success_url=reverse_lazy("password_reset_done")
)
