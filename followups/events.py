"""What the follow-up services announce (see `pipeline_crm.events`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from followups.models import Activity


@dataclass(frozen=True)
class ActivityEvent:
    activity: Activity
    by: User | None

    @property
    def deal_id(self) -> int | None:
        return self.activity.deal_id


@dataclass(frozen=True)
class ActivityLogged(ActivityEvent):
    """A new activity, planned or done, recorded `at` (planning a next step is work too)."""

    at: dt.datetime | None = None


@dataclass(frozen=True)
class ActivityCompleted(ActivityEvent):
    """A planned activity was marked done `at`."""

    at: dt.datetime | None = None


@dataclass(frozen=True)
class ActivityChanged(ActivityEvent):
    pass


@dataclass(frozen=True)
class ActivityDeleted(ActivityEvent):
    pass
