"""`{% load imports_nav %}{% if user|may_import %}`: the top bar's Import link."""

from typing import Any

from django import template

from imports import services

register = template.Library()


@register.filter
def may_import(user: Any) -> bool:
    """Signed in and allowed to import some kind of record."""
    return bool(user.is_authenticated and services.importable_kinds(user))
