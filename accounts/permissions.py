"""API permissions that follow the CRM's roles (SPEC §4)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.visibility import is_admin


class AdminWritesOrReadOnly(BasePermission):
    """Everyone signed in reads; only admins write (users, teams, pipelines, stages)."""

    message = "Only admins change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or is_admin(request.user)


class AdminsOnly(BasePermission):
    """Only admins, even to read (webhooks, the audit log); a subclass may say what of."""

    message = "Only admins may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and is_admin(request.user))
