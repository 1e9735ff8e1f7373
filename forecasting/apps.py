from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecast and quotas"

    def ready(self) -> None:
        from forecasting import checks  # noqa: F401  (registers the system check)
