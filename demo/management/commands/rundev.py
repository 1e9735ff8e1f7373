"""`manage.py rundev [--port N]`: web, Celery worker and beat from the Procfile, for development.

What `make run` ends with: one banner with the address and the demo logins once the web
process answers, Ctrl-C stops everything and exits 0 (`pipeline_crm.devrun`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from demo.logins import ready_banner, run_port
from pipeline_crm import devrun


class Command(BaseCommand):
    help = "Run web, Celery worker and beat (the Procfile) and print the demo logins when ready."
    requires_system_checks: list[str] = []  # the web process runs them, once

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port of the web server (default RUN_PORT or 8000).",
        )
        parser.add_argument(
            "--procfile", default=str(Path(settings.BASE_DIR) / "Procfile"), help="The Procfile."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] or run_port()
        code = devrun.run(procfile=Path(options["procfile"]), port=port, banner_for=ready_banner)
        sys.exit(code)
