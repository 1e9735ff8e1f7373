"""What follows for follow-ups from other apps' events (see `pipeline_crm.events`).

- An invited user gets the invitation e-mail: queued in the outbox in the inviting transaction
  (sent by the outbox sweep, retried if the mail server is down; never sent if the invitation
  rolls back), and a delivery queued right after the commit so it goes out at once.
- A deactivated user's planned activities go to the user the admin chose, in the same
  transaction.
- A completed activity's unread reminders are read, in the same transaction (the bell drops
  them).
"""

from __future__ import annotations

from django.conf import settings

from accounts.events import UserDeactivated, UserInvited
from accounts.selectors import set_password_path
from followups import services, tasks
from followups.events import ActivityCompleted
from followups.outbox import queue_emails, render_email
from pipeline_crm.events import DURING, listens_to


@listens_to(UserInvited, phase=DURING)
def send_invitation(event: UserInvited) -> None:
    email = render_email(
        key=event.key,
        user=event.user,
        subject=f"{event.by} invited you to Pipeline CRM",
        template="invitation",
        context={
            "by": event.by,
            "link": settings.SITE_URL + set_password_path(event.user),
            "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        },
    )
    queue_emails([email])
    tasks.deliver_emails.delay_on_commit()


@listens_to(UserDeactivated, phase=DURING)
def hand_over_open_activities(event: UserDeactivated) -> None:
    services.hand_over_open_activities(
        from_owner=event.user, to_owner=event.reassign_to, by=event.by
    )


@listens_to(ActivityCompleted, phase=DURING)
def read_reminders_of_completed(event: ActivityCompleted) -> None:
    services.mark_reminders_read(event.activity)
