"""Reads the user and team settings pages (and the services) share.

accounts sits below the apps that own deals, leads and activities, so what a user owns is
counted through the reverse relations those apps declare (`user.deals`, …) without importing
them; a team's deletion effects come from Django's own deletion collector.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.db import router
from django.db.models import Count, Model, Prefetch, Q, QuerySet
from django.db.models.deletion import Collector
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token

from accounts.models import Role, Team, User

# The user list's status filter.
STATUSES = (("active", "Active"), ("invited", "Invited"), ("inactive", "Deactivated"))


def default_reassignee(*, user: User, by: User) -> User | None:
    """Who takes over a deactivated user's work unless the admin picks someone: an active
    manager of one of their teams, else the admin doing it, else any other active admin."""
    manager = (
        User.objects.filter(is_active=True, managed_teams__members=user)
        .exclude(pk=user.pk)
        .order_by("managed_teams__name", "pk")
        .first()
    )
    if manager is not None:
        return manager
    if by.pk != user.pk and by.is_active:
        return by
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
        .exclude(pk=user.pk)
        .order_by("pk")
        .first()
    )


def set_password_path(user: User) -> str:
    """The link of an invitation: Django's password-reset page with a token for `user`, which
    stops working once they set a password (the token signs the password hash)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})


def user_rows(
    *, q: str = "", role: str = "", team: Team | None = None, status: str = ""
) -> QuerySet[User]:
    """The settings page's user list: filtered, by name, with groups and teams prefetched."""
    users = User.objects.prefetch_related(
        "groups", Prefetch("teams", queryset=Team.objects.order_by("name"))
    )
    for word in q.split():
        users = users.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(email__icontains=word)
        )
    if role == Role.ADMIN:
        users = users.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
    elif role == Role.MANAGER:
        users = users.filter(groups__name=Role.MANAGER, is_superuser=False).exclude(
            groups__name=Role.ADMIN
        )
    elif role == Role.REP:
        users = users.filter(is_superuser=False).exclude(
            groups__name__in=[Role.ADMIN, Role.MANAGER]
        )
    if team is not None:
        users = users.filter(teams=team)
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "inactive":
        users = users.filter(is_active=False)
    elif status == "invited":
        users = users.filter(
            is_active=True, last_login__isnull=True, password__startswith=UNUSABLE_PASSWORD_PREFIX
        )
    return users.distinct().order_by("-is_active", "first_name", "last_name", "username")


@dataclass(frozen=True)
class OpenWork:
    """What a user owns that deactivation hands over (see `services.deactivate_user`)."""

    deals: int
    leads: int
    contacts: int
    companies: int
    activities: int

    @property
    def total(self) -> int:
        return self.deals + self.leads + self.contacts + self.companies + self.activities

    def summary(self) -> str:
        """E.g. "3 open deals, 1 lead, 2 planned activities"."""
        counted = (
            (self.deals, "open deal", "open deals"),
            (self.leads, "lead", "leads"),
            (self.contacts, "contact", "contacts"),
            (self.companies, "company", "companies"),
            (self.activities, "planned activity", "planned activities"),
        )
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counted if n)


def open_work(user: User) -> OpenWork:
    return OpenWork(
        deals=user.deals.filter(status="open").count(),
        leads=user.leads.filter(converted_at__isnull=True).exclude(status="disqualified").count(),
        contacts=user.contacts.count(),
        companies=user.companies.count(),
        activities=user.activities.filter(done_at__isnull=True).count(),
    )


def team_rows() -> QuerySet[Team]:
    people = User.objects.order_by("first_name", "last_name", "username")
    return Team.objects.prefetch_related(
        Prefetch("managers", queryset=people), Prefetch("members", queryset=people)
    ).annotate(n_members=Count("members", distinct=True))


def team_deletion_effects(team: Team) -> list[str]:
    """What else deleting `team` deletes (e.g. "2 quotas"): Django's deletion collector, so a
    model added later that hangs off teams is counted too."""
    collector = Collector(using=router.db_for_write(Team))
    collector.collect([team])
    counts: dict[type[Model], int] = {}
    for model, instances in collector.data.items():
        counts[model] = counts.get(model, 0) + len(instances)
    for queryset in collector.fast_deletes:
        counts[queryset.model] = counts.get(queryset.model, 0) + queryset.count()
    effects = []
    for model, count in counts.items():
        if model is Team or model._meta.auto_created or not count:
            continue
        name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
        effects.append(f"{count} {name}")
    return effects


def api_token_of(user: User) -> Token | None:
    """The user's API token (DRF keeps one a user), for their own settings page."""
    return Token.objects.filter(user=user).first()
