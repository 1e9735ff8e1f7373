"""Django admin for users and teams. Only admins (SPEC §4) see any of the CRM's admin pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.models import Team, User


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


class ReadOnlyHistory(AdminsOnly):
    """Append-only history (stage and field changes, snapshots): readable, never edited here."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TeamMembershipInline(admin.TabularInline):
    model = Team.members.through
    verbose_name = "team membership"
    verbose_name_plural = "team memberships"
    autocomplete_fields = ["team"]
    extra = 0


@admin.register(User)
class UserAdmin(AdminsOnly, DjangoUserAdmin):
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
    readonly_fields = ["calendar_token", "last_login", "date_joined"]
    inlines = [TeamMembershipInline]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("CRM", {"fields": ("digest_opt_out", "calendar_token")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # The role column reads the groups: one prefetch instead of a query per row.
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="role")
    def role_name(self, user: User) -> str:
        return user.role


@admin.register(Team)
class TeamAdmin(AdminsOnly, admin.ModelAdmin):
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
        return team.member_total
