"""What follows for companies, contacts and leads from other apps' events (see
`pipeline_crm.events`): a deactivated user's records go to the user the admin chose, in the same
transaction."""

from __future__ import annotations

from accounts.events import UserDeactivated
from contacts import services
from pipeline_crm.events import DURING, listens_to


@listens_to(UserDeactivated, phase=DURING)
def hand_over_records(event: UserDeactivated) -> None:
    services.hand_over_records(from_owner=event.user, to_owner=event.reassign_to, by=event.by)
