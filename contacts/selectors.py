"""Reads of companies, contacts and leads that several pages share."""

from __future__ import annotations

from accounts.models import User
from contacts.models import Company


def company_names_matching(text: str, *, user: User, limit: int = 10) -> list[str]:
    """Names of companies `user` can see matching the typed text (any case): those that start
    with it first, then those that contain it, each alphabetically (the company autocomplete)."""
    # NUL cannot reach PostgreSQL (it would be an error); spaces are folded as names store them.
    text = " ".join(text.replace("\x00", "").split())[:200]
    if not text:
        return []
    companies = Company.objects.visible_to(user).order_by("name").values_list("name", flat=True)
    names = list(companies.filter(name__istartswith=text)[:limit])
    if len(names) < limit:
        names += companies.filter(name__icontains=text).exclude(name__istartswith=text)[
            : limit - len(names)
        ]
    return names
