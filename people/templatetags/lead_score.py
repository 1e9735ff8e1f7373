"""`score_parts`: a lead's score breakdown in the order the pages list it."""

from __future__ import annotations

from typing import Any

from django import template

from people.selectors import ScorePart, score_parts

register = template.Library()


@register.filter(name="score_parts")
def score_parts_filter(breakdown: dict[str, Any] | None) -> list[ScorePart]:
    return score_parts(breakdown)
