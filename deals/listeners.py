"""What follows from what happened, for the pipeline (see `pipeline_crm.events`).

- Open boards of the pipeline are told which columns changed (after commit: `deals.live`).
- A deal given to someone else notifies its new owner (in the same transaction).
- An activity logged or done on a deal refreshes the deal and clears its stall (in the same
  transaction: `services.record_activity`).
- A deal given to someone else takes its former owner's planned activities with it (in the same
  transaction), so reminders reach someone who can see the deal.
- A deactivated user's open deals go to the user the admin chose (in the same transaction).
"""

from __future__ import annotations

from accounts.events import UserDeactivated
from accounts.models import User
from deals import live, services
from deals.events import DealChanged, DealCreated, DealEvent, DealRestored, PipelineChanged
from followups.events import ActivityCompleted, ActivityLogged
from followups.models import Notification
from followups.services import hand_over_open_activities, notify
from pipeline_crm.events import AFTER_COMMIT, DURING, listens_to


@listens_to(DealEvent, phase=AFTER_COMMIT)
def tell_open_boards(event: DealEvent) -> None:
    live.bump_board(event.pipeline_id, event.stage_ids)


@listens_to(PipelineChanged, phase=AFTER_COMMIT)
def reload_open_boards(event: PipelineChanged) -> None:
    live.bump_board(event.pipeline_id)


@listens_to(DealCreated, DealChanged, phase=DURING)
def notify_new_owner(event: DealCreated | DealChanged) -> None:
    deal, by = event.deal, event.by
    if by is None:
        return
    if isinstance(event, DealRestored):
        return  # back from the trash to the owner it had: nobody assigned anything
    if isinstance(event, DealCreated) and deal.owner_id == by.pk:
        return  # made for oneself
    if isinstance(event, DealChanged) and "owner" not in event.fields:
        return
    notify(
        deal.owner_id,
        kind=Notification.Kind.ASSIGNED,
        message=f"{by} assigned you “{deal.title}”.",
        dedupe_key=f"assigned:{deal.pk}:{deal.owner_id}:{deal.version}",
        deal_id=deal.pk,
    )


@listens_to(DealChanged, phase=DURING)
def hand_over_deal_activities(event: DealChanged) -> None:
    if event.previous_owner_id is None or event.by is None:
        return
    former = User.objects.get(pk=event.previous_owner_id)
    hand_over_open_activities(
        from_owner=former, to_owner=event.deal.owner, by=event.by, deal_id=event.deal.pk
    )


@listens_to(ActivityLogged, ActivityCompleted, phase=DURING)
def refresh_worked_deal(event: ActivityLogged | ActivityCompleted) -> None:
    if event.deal_id is not None and event.at is not None:
        services.record_activity(deal_id=event.deal_id, at=event.at)


@listens_to(UserDeactivated, phase=DURING)
def hand_over_open_deals(event: UserDeactivated) -> None:
    services.hand_over_open_deals(from_owner=event.user, to_owner=event.reassign_to, by=event.by)
