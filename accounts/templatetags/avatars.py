"""`{% avatar person %}`: a person's initials in a circle of their colour, their name on hover
(see `accounts.avatars`). `person` is a `User` or an `accounts.avatars.Avatar`; nothing is drawn
for nobody.

    {% avatar deal.owner %}                          title and accessible name "Rita Reyes"
    {% avatar card.owner label="Owner" size="small" %}   "Owner: Rita Reyes"
    {% avatar user decorative=True %}    beside the written name: hidden from screen readers
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.avatars import colour_index

register = template.Library()

SIZES = ("", "small", "large")


@register.simple_tag
def avatar(
    person: Any, label: str = "", size: str = "", *, decorative: bool = False
) -> SafeString | str:
    if not person:
        return ""
    name = str(person)
    described = f"{label}: {name}" if label else name
    size_class = f" {size}" if size in SIZES and size else ""
    # An image named after the person, unless their name is written right beside it.
    role = format_html(
        'aria-hidden="true"' if decorative else 'role="img" aria-label="{}"', described
    )
    return format_html(
        '<span class="avatar avatar-c{}{}" title="{}" {}>{}</span>',
        colour_index(person.pk),
        size_class,
        described,
        role,
        person.initials,
    )
