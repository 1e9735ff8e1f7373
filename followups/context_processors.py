from collections.abc import Callable
from functools import cache

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """Values the top bar needs on every page (one indexed count when signed in).

    The count is a function, which a template calls when it shows the bell: a board column, a
    move or a dashboard panel answered to htmx draws no top bar and pays no query for it."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    from followups.models import Notification  # models load after the settings

    @cache
    def unread_notifications() -> int:
        return Notification.objects.visible_to(user).unread().count()

    return {"unread_notifications": unread_notifications}
