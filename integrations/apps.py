from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations: webhooks"

    def ready(self) -> None:
        # The services' events that become webhook deliveries (listeners.py).
        from integrations import listeners  # noqa: F401
