"""Forms of the user and team settings pages and of the password reset.

Forms only parse and validate input; every change goes through `accounts.services`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.db.models import Q, QuerySet

from accounts.models import Role, Team, User
from accounts.selectors import STATUSES
from pipeline_crm.errors import DomainError

PEOPLE_ORDER = ("first_name", "last_name", "username")


def active_people(*also: User) -> QuerySet[User]:
    """Who may be picked: active users (and `also`, e.g. the current members, so an edit
    does not silently drop someone deactivated)."""
    return User.objects.filter(Q(is_active=True) | Q(pk__in=[u.pk for u in also])).order_by(
        *PEOPLE_ORDER
    )


def person_label(user: User) -> str:
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else user.username


class PeopleField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


class PersonField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal, shown on its field when the form has it, else above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def teams_field() -> forms.ModelMultipleChoiceField:  # type: ignore[type-arg]
    return forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members read each other's records; see the teams page for managers.",
    )


class UserFilterForm(forms.Form):
    """The user list's filters, read from its URL; invalid values are ignored."""

    q = forms.CharField(required=False, max_length=100, strip=True, label="Search")
    role = forms.ChoiceField(choices=[("", "Any role"), *Role.choices], required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="Any team"
    )
    status = forms.ChoiceField(choices=[("", "Everyone"), *STATUSES], required=False)

    def to_filters(self) -> dict[str, Any]:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return {
            "q": data.get("q") or "",
            "role": data.get("role") or "",
            "team": data.get("team"),
            "status": data.get("status") or "",
        }


class InviteForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="E-mail", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP)
    teams = teams_field()


class UserEditForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="E-mail", max_length=254, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    teams = teams_field()

    @classmethod
    def for_user(cls, user: User, **kwargs: Any) -> UserEditForm:
        initial = {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": user.role,
            "teams": list(user.teams.all()),
        }
        return cls(initial=initial, **kwargs)

    def changes(self) -> dict[str, Any]:
        """Only what the admin changed: an untouched role must not trip the last-admin rule."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


class DeactivateForm(forms.Form):
    reassign_to = PersonField(
        queryset=User.objects.none(),
        label="Hand their open work to",
        empty_label=None,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reassign_to"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 (narrowing for mypy)
        field.queryset = active_people().exclude(pk=user.pk)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)
    managers = PeopleField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Managers read and write what the members own.",
    )
    members = PeopleField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members read each other's records.",
    )

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        if team is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": team.name,
                "managers": list(team.managers.all()),
                "members": list(team.members.all()),
            }
        super().__init__(*args, **kwargs)
        current = [*team.managers.all(), *team.members.all()] if team else []
        for name in ("managers", "members"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101
            field.queryset = active_people(*current)

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's form, also for invited users (no password yet): someone who lost the
    invitation e-mail asks for a link from the login page like anyone else. Django leaves out
    users without a usable password for external sign-in (LDAP); this CRM has none."""

    def get_users(self, email: str) -> Iterator[Any]:
        for user in User.objects.filter(email__iexact=email, is_active=True):
            if user.email.casefold() == email.casefold():
                yield user
