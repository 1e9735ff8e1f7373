"""`score_parts`: the scoring rules a lead meets, with their points, as the pages list them."""

from __future__ import annotations

from typing import Any

from django import template

from people.selectors import ScorePart, score_parts

register = template.Library()


@register.filter(name="score_parts")
def score_parts_filter(breakdown: Any) -> list[ScorePart]:
    return score_parts(breakdown)
