from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = "Pipelines and deals"

    def ready(self) -> None:
        # What follows from the pipeline's events: live boards, notifications (listeners.py).
        from deals import listeners  # noqa: F401
