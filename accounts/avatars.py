"""How a person is shown: initials in a circle of a colour of their own, the full name on hover.

Everywhere a person appears (cards, lists, the deal page, the top bar) draws them through the
`{% avatar %}` tag (`accounts/templatetags/avatars.py`), so Rita Reyes and Ravi Rao, both "RR",
are told apart by colour and by name. The colour is the user id modulo the palette: stable for
a person, and different for any two people whose ids are less than `PALETTE_SIZE` apart (the
palette's classes `avatar-c0` … `avatar-c11` are in static/css/app.css, each dark enough for
white text at WCAG AA, since inline styles are refused by the CSP).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from accounts.models import User

PALETTE_SIZE = 12


def colour_index(pk: int | None) -> int:
    """The palette entry of the person with this id (0 for nobody)."""
    return (pk or 0) % PALETTE_SIZE


def initials_of(first_name: str, last_name: str, username: str) -> str:
    parts = [p for p in (first_name, last_name) if p]
    if parts:
        return "".join(p[0] for p in parts).upper()[:2]
    return username[:2].upper()


class Avatar(NamedTuple):
    """What the `{% avatar %}` tag needs of a person, as a plain value (a board card keeps one
    in its cached view instead of the user)."""

    pk: int
    name: str
    first_name: str
    initials: str

    @classmethod
    def of(cls, user: User) -> Avatar:
        return cls(user.pk, str(user), user.first_name or str(user), user.initials)

    def __str__(self) -> str:
        return self.name

    @property
    def who_may_change(self) -> str:
        """Who may change this person's records (SPEC §4), said plainly: "only Ravi, their
        manager or an admin"."""
        return f"only {self.first_name}, their manager or an admin"
