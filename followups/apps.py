from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = "Follow-ups"

    def ready(self) -> None:
        # Invitation e-mails and the hand-over of a deactivated user's activities (listeners.py).
        from followups import listeners  # noqa: F401
