"""Django admin for users and teams, and the pieces every CRM admin page is built from.

Only admins (SPEC §4) see any of the CRM's admin pages. Every write goes through the service
that owns it (`ServiceAdmin`): the admin is one more thin caller, so its changes keep the rules,
the history and the events (open boards, notifications) of the board, the pages and the API.
What no service changes is shown read-only (`ReadOnly`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from accounts import services, two_factor
from accounts.models import Role, Team, User
from pipeline_crm.errors import DomainError

if TYPE_CHECKING:
    TypedModelAdmin = admin.ModelAdmin
    TypedTabularInline = admin.TabularInline
    TypedModelForm = forms.ModelForm
    TypedUserAdmin = DjangoUserAdmin
    UserChangeBase = UserChangeForm[User]
    UserCreationBase = UserCreationForm[User]
else:
    # The type stubs make Django's admin and form classes generic (ModelAdmin[Deal]); at run
    # time they take no type arguments. These stand-ins accept them and change nothing else.
    UserChangeBase = UserChangeForm
    UserCreationBase = UserCreationForm

    class TypedModelAdmin(admin.ModelAdmin):
        def __class_getitem__(cls, _model):
            return cls

    class TypedTabularInline(admin.TabularInline):
        def __class_getitem__(cls, _models):
            return cls

    class TypedModelForm(forms.ModelForm):
        def __class_getitem__(cls, _model):
            return cls

    class TypedUserAdmin(DjangoUserAdmin):
        def __class_getitem__(cls, _model):
            return cls


# Where the refusal of a first attempt waits for the form shown again (see `ServiceAdmin`).
REFUSAL_ATTRIBUTE = "crm_admin_refusal"


def actor(request: HttpRequest) -> User:
    """The signed-in admin (`AdminsOnly` lets nobody else this far): the services' `by`."""
    return cast(User, request.user)


class AdminsOnly:
    """The CRM's admin role (SPEC §4) decides, not Django's per-model permissions: an admin
    reads and writes everything, staff who are not CRM admins see nothing (the services would
    refuse them anyway). The admin site itself still asks for staff status to sign in."""

    def _is_crm_admin(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "is_admin", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_crm_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_crm_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._is_crm_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_crm_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_crm_admin(request)


class ReadOnly(AdminsOnly):
    """Readable, never written here: append-only history (stage and field changes, snapshots)
    and records only the system writes (notifications)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def adopt(shown: models.Model, saved: models.Model) -> None:
    """Give the form's instance the saved record's values: the admin logs, names and links to
    the instance it built, while the service saved (and may have re-read) its own copy."""
    for field in saved._meta.concrete_fields:
        setattr(shown, field.attname, getattr(saved, field.attname))
    shown._state.adding = False
    shown._state.db = saved._state.db


def showing_refusal[F: forms.BaseForm](form_class: type[F], refusal: DomainError) -> type[F]:
    """The form class again, now failing with the service's refusal (on its field if shown)."""

    class RefusedForm(form_class):  # type: ignore[valid-type,misc]
        def clean(self) -> dict[str, Any] | None:
            cleaned = super().clean()
            field = refusal.field if refusal.field in self.fields else None
            self.add_error(field, refusal.message)
            return cast(dict[str, Any] | None, cleaned)

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


class ServiceAdmin[M: models.Model](AdminsOnly, TypedModelAdmin[M]):
    """An admin whose every write is a service call: `create`, `update` (with the fields the
    form changed, on a fresh copy of the record) and `delete`, also for "delete selected".

    A refusal (`DomainError`) changes nothing: the admin's transaction rolls back, the change
    form comes back with the refusal as a form error (the input kept), a deletion goes back to
    the record with the refusal as an error message. Relations (teams, members) are the
    services' to write; inlines are read-only, so nothing else is saved beside the service.
    """

    def create(self, by: User, data: dict[str, Any]) -> M:
        raise NotImplementedError(f"{type(self).__name__} adds nothing")

    def update(self, by: User, record: M, changes: dict[str, Any]) -> M:
        raise NotImplementedError(f"{type(self).__name__} changes nothing")

    def delete(self, by: User, record: M) -> None:
        raise NotImplementedError(f"{type(self).__name__} deletes nothing")

    def save_model(self, request: HttpRequest, obj: M, form: Any, change: Any) -> None:
        if change:
            current = type(obj)._default_manager.get(pk=obj.pk)
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            saved = self.update(actor(request), current, changes) if changes else current
        else:
            saved = self.create(actor(request), dict(form.cleaned_data))
        adopt(obj, saved)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: Any) -> None:
        """Nothing is written: the service saved the relations with the record, and inlines
        are read-only. (`commit=False` only lists what a formset would save, for the log.)"""
        for formset in formsets:
            formset.save(commit=False)

    def delete_model(self, request: HttpRequest, obj: M) -> None:
        self.delete(actor(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():  # all of them or, after one refusal, none
            for record in queryset:
                self.delete(actor(request), record)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        # What goes with a record (its history, its notifications) is the delete service's
        # rule; Django's per-model delete permission of those read-only lists must not veto it.
        deletable, counts, _permissions, protected = super().get_deleted_objects(objs, request)
        return deletable, counts, set(), protected

    def get_form(
        self, request: HttpRequest, obj: M | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[M]]:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, REFUSAL_ATTRIBUTE, None)
        return showing_refusal(form_class, refusal) if refusal else form_class

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:
            # Rolled back with the view's transaction. Show the same input again, failing
            # with the refusal: the second pass saves nothing.
            setattr(request, REFUSAL_ATTRIBUTE, refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            opts = self.opts
            change_page = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change"
            return HttpResponseRedirect(reverse(change_page, args=[object_id]))

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        try:
            with transaction.atomic():  # the action's log entries roll back with its changes
                return super().response_action(request, queryset, *args, **kwargs)
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- users ----------------------------------------------------------------------------------


class UserForm(UserChangeBase):
    """A user's role (one of the role groups) and teams, written by `update_user`."""

    role = forms.ChoiceField(choices=Role.choices)
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        widget=FilteredSelectMultiple("teams", is_stacked=False),
        help_text="Teams the user is a member of.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["role"].initial = self.instance.role
            self.fields["teams"].initial = list(self.instance.teams.all())


class NewUserForm(UserCreationBase):
    """Username, password (twice) and role: what `create_user` needs."""

    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP)

    class Meta(UserCreationForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(ServiceAdmin[User], TypedUserAdmin[User]):
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "role_name",
        "is_active",
        "is_staff",
        "last_login",
    ]
    list_filter = ["groups", "teams", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "first_name", "last_name", "email"]
    form = UserForm
    add_form = NewUserForm
    # Django's permissions and groups are not edited: the role decides (`AdminsOnly`), and the
    # role groups are set through the role. The digest choice is the user's own (their
    # settings page, `set_digest_opt_out`); the dates and the calendar token are the system's.
    readonly_fields = ["calendar_token", "digest_opt_out", "last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role and teams", {"fields": ("role", "teams")}),
        ("Account", {"fields": services.ACCOUNT_FLAGS}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
        ("CRM", {"fields": ("digest_opt_out", "calendar_token")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2", "role")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # The role column reads the groups: one prefetch instead of a query per row.
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="role")
    def role_name(self, user: User) -> str:
        return user.role

    def create(self, by: User, data: dict[str, Any]) -> User:
        return services.create_user(
            by=by, username=data["username"], password=data["password1"], role=data["role"]
        )

    def update(self, by: User, record: User, changes: dict[str, Any]) -> User:
        return services.update_user(user=record, by=by, changes=changes)

    def delete(self, by: User, record: User) -> None:
        services.delete_user(user=record, by=by)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """The password page saves through `update_user` (validated, hashed). Django's own view
        shows the page, checks the permission and answers an invalid form."""
        user = self.get_object(request, unquote(id))
        allowed = user is not None and self.has_change_permission(request, user)
        if request.method != "POST" or user is None or not allowed:
            return super().user_change_password(request, id, form_url)
        form = self.change_password_form(user, request.POST)
        if not form.is_valid():
            return super().user_change_password(request, id, form_url)
        if not form.cleaned_data["set_usable_password"]:
            # No service turns password sign-in off; deactivating the user is the CRM's way.
            self.message_user(
                request, "To stop someone signing in, deactivate the user.", messages.ERROR
            )
            return HttpResponseRedirect(request.get_full_path())
        new_password = form.cleaned_data["password1"]
        try:
            user = services.update_user(
                user=user, by=actor(request), changes={"password": new_password}
            )
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        self.log_change(request, user, self.construct_change_message(request, form, []))
        self.message_user(request, "Password changed successfully.", messages.SUCCESS)
        update_session_auth_hash(request, user)
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:accounts_user_change", args=[user.pk])
        )


# --- teams ----------------------------------------------------------------------------------


@admin.register(Team)
class TeamAdmin(ServiceAdmin[Team]):
    list_display = ["name", "manager_names", "member_count"]
    # Only people who manage (or are members of) a team are offered, not every user.
    list_filter = [
        ("managers", admin.RelatedOnlyFieldListFilter),
        ("members", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name"]
    filter_horizontal = ["managers", "members"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .annotate(member_total=Count("members", distinct=True))
            .prefetch_related("managers")
        )

    @admin.display(description="managers")
    def manager_names(self, team: Team) -> str:
        return ", ".join(str(user) for user in team.managers.all())

    @admin.display(description="members", ordering="member_total")
    def member_count(self, team: Any) -> int:
        return int(team.member_total)

    def create(self, by: User, data: dict[str, Any]) -> Team:
        return services.create_team(
            by=by, name=data["name"], managers=data["managers"], members=data["members"]
        )

    def update(self, by: User, record: Team, changes: dict[str, Any]) -> Team:
        return services.update_team(team=record, by=by, changes=changes)

    def delete(self, by: User, record: Team) -> None:
        services.delete_team(team=record, by=by)


# --- two-factor sign-in (django-otp) ---------------------------------------------------------
# django-otp's own admins would let admins read keys and recovery codes, and write devices
# past the services; they are replaced by a read-only list whose one write is `reset`.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


@admin.register(TOTPDevice)
class TwoFactorAppAdmin(ServiceAdmin[TOTPDevice]):
    """Who has an authenticator app for two-factor sign-in. Deleting one is how an admin helps
    someone who lost their phone and recovery codes (their recovery codes go with it); the key
    is never shown, and nothing is added or changed here."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    fields = readonly_fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete(self, by: User, record: TOTPDevice) -> None:
        two_factor.reset(user=record.user, by=by)


# --- API tokens -------------------------------------------------------------------------------

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ApiTokenAdmin(ServiceAdmin[TokenProxy], DrfTokenAdmin):
    """DRF's API token page, for CRM admins, its writes through the services (so the audit log
    has them): make a token for a user, or delete it. A token has nothing to change."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def create(self, by: User, data: dict[str, Any]) -> TokenProxy:
        token = services.create_api_token(user=data["user"], by=by)
        return cast(TokenProxy, token)

    def delete(self, by: User, record: TokenProxy) -> None:
        services.revoke_user_api_token(user=record.user, by=by)
