from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecast and quotas"

    def ready(self) -> None:
        from forecasting import checks  # noqa: F401  (registers the system check)

        post_migrate.connect(_keep_rollup_time_zone, sender=self)


def _keep_rollup_time_zone(using: str = "default", **_: Any) -> None:
    """After every migrate: the running counts' days are local days of settings.TIME_ZONE, so
    when it changed since they were counted, store the new zone and count them again."""
    from forecasting.services import keep_rollup_time_zone

    keep_rollup_time_zone(using=using)
