from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self) -> None:
        from imports import listeners  # noqa: F401
