"""Where a dropped card lands in its column (`deals.views.board_changes.move`)."""

from __future__ import annotations

from django.db.models import Q, Subquery

from accounts.models import User
from deals.models import Deal, Stage


def index_after(stage: Stage, *, after_id: int | None, moving: Deal, viewer: User) -> int:
    """The column index (0 = top, as `move_deal` counts) just below the card `after_id`.

    The board may be filtered or paged, so the client names the card it dropped below rather
    than an index; this turns it into the index among all the deals the viewer sees there.
    """
    if not after_id:
        return 0
    anchor = Deal.objects.filter(pk=after_id, stage=stage).values("position")[:1]
    return (
        Deal.objects.visible_to(viewer)
        .filter(stage=stage)
        .exclude(status=Deal.Status.LOST)
        .exclude(pk=moving.pk)
        .filter(Q(position__lt=Subquery(anchor)) | Q(position=Subquery(anchor), pk__lte=after_id))
        .count()
    )
