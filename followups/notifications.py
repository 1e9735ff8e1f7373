"""Where a notification leads. Most name their deal; a batch of stalled deals (one notification
with the count, written by the stall sweep) leads to those deals on the board."""

from __future__ import annotations

from django.urls import reverse

from followups.models import Notification

OWNER_BATCH, MANAGER_BATCH = "stalled-batch-owner", "stalled-batch-manager"
# The htmx event the top bar's bell listens for (templates/notifications/_bell.html): a page
# whose change may alter the unread count sends it in HX-Trigger and the bell refreshes itself.
BELL_EVENT = "notifications-changed"


def batch_link(notification: Notification) -> str | None:
    """Where a batched stall notification leads: those deals on the board."""
    if notification.dedupe_key.startswith(f"{OWNER_BATCH}:"):
        return f"{reverse('board')}?owner=me&stalled=1"
    if notification.dedupe_key.startswith(f"{MANAGER_BATCH}:"):
        return f"{reverse('board')}?owner=team&stalled=1"
    return None
