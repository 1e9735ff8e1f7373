"""`manage.py logins` (`make logins`): the demo accounts, their roles and the shared password."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from demo.logins import dev_url, login_lines


class Command(BaseCommand):
    help = "Print the demo logins and where to use them."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("\n".join(login_lines(f"{dev_url()}accounts/login/")))
