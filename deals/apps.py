from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = "Pipelines and deals"

    def ready(self) -> None:
        # Connects the signals that tell open boards a deal changed (see deals/live.py).
        from deals import live  # noqa: F401
