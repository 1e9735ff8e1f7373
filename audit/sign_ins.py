"""Sign-ins in the audit log, from the auth signals (the sign-in is Django's and django-axes's
code, not a service of ours that could announce it).

- `user_logged_in` (the login form, the Django admin's): "Signed in". A sign-in at the API token
  endpoint is announced by `accounts.services.issue_api_token` instead (`audit.listeners`).
- `user_login_failed` (a wrong password, an unknown or inactive user, on any of them): "Sign-in
  failed", with the username tried and the account it names, if any.
- django-axes's `user_locked_out`: "Locked out", for the failure that reaches the limit and each
  attempt refused while the lock lasts (those are not counted as failures too). axes's own
  receivers, connected first (its app comes first), have marked the request by then.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from audit.models import Action
from audit.services import record
from pipeline_crm.client_ip import client_ip

USERNAME_LENGTH = User._meta.get_field("username").max_length or 150


def _where(request: HttpRequest | None) -> dict[str, Any]:
    """The client address and path of the sign-in, when there is a request."""
    if request is None:
        return {"ip": None, "details": {}}
    return {"ip": client_ip(request), "details": {"path": request.path}}


def _tried(request: HttpRequest | None, username: object, action: Action) -> None:
    """An entry for an attempt on `username`: the account it names (if any) as target."""
    tried = str(username or "")[:USERNAME_LENGTH]
    account = User.objects.filter(username=tried).first() if tried else None
    where = _where(request)
    where["details"]["username"] = tried
    if account is not None:
        record(action=action, actor=None, target=account, **where)
    else:
        record(action=action, actor=None, target_type="user", target_label=tried, **where)


@receiver(user_logged_in, dispatch_uid="audit.signed_in")
def signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record(action=Action.LOGIN, actor=user, target=user, **_where(request))


@receiver(user_logged_out, dispatch_uid="audit.signed_out")
def signed_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record(action=Action.LOGOUT, actor=user, target=user, **_where(request))


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # refused by a lockout: `locked_out` records it
    _tried(request, credentials.get("username"), Action.LOGIN_FAILED)


@receiver(user_locked_out, dispatch_uid="audit.locked_out")
def locked_out(sender: Any, request: HttpRequest | None, username: object, **kwargs: Any) -> None:
    _tried(request, username, Action.LOCKOUT)
