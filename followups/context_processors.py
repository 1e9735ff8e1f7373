from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, object]:
    """Values the top bar needs on every page (cheap: one indexed count when signed in)."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    from followups.models import Notification  # models load after the settings

    return {"unread_notifications": Notification.objects.visible_to(user).unread().count()}
