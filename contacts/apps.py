from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Companies, contacts and leads"

    def ready(self) -> None:
        # A deactivated user's records are handed over (listeners.py).
        from contacts import listeners  # noqa: F401
