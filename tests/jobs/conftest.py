"""Helpers for the jobs tests: deals idle for a given time, activities due at a given time."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ActivityFactory, DealFactory


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def idle_deal(rep):
    """idle_deal(days, **fields): an open deal (Prospecting, stalls after 14 days) untouched for
    `days` days, owned by `rep` unless told otherwise."""

    def make(days: float, **fields):
        fields.setdefault("owner", rep)
        return DealFactory(stage_entered_at=days_ago(days), **fields)

    return make


@pytest.fixture
def due_activity(rep):
    """due_activity(minutes_ago, **fields): a planned call whose remind time passed that long ago
    (negative: still in the future)."""

    def make(minutes_ago: float = 5, **fields):
        fields.setdefault("owner", rep)
        remind_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
        fields.setdefault("due_at", remind_at + dt.timedelta(minutes=15))
        return ActivityFactory(remind_at=remind_at, **fields)

    return make
