"""Ranges every date typed or posted must fall in, checked at the edge (forms, serializers)."""

import datetime as dt

from django.core.exceptions import ValidationError

MIN_YEAR = 1900
MAX_YEAR = 2999


def year_in_range(value: dt.date | None) -> None:
    """Field validator: a date or datetime from 1900 to 2999. Year 9999 is valid for Python and
    PostgreSQL, but adding a duration or converting the zone then overflows."""
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(
            f"Give a date between the years {MIN_YEAR} and {MAX_YEAR}.", code="out_of_range"
        )
