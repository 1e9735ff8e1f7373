from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # The services' events (listeners.py) and the sign-in signals (sign_ins.py) it records.
        from audit import listeners, sign_ins  # noqa: F401
