"""The demo logins as people read them: the one list `seed_demo`, `manage.py logins` (`make logins`)
and the banner of `manage.py rundev` (`make run`) print."""

from __future__ import annotations

import os

from accounts.models import Role
from demo.demo_data import DEMO_PASSWORD, PEOPLE, DemoPerson


def run_port() -> int:
    """The port of `make run`'s web server: RUN_PORT, as the Procfile reads it, or 8000."""
    return int(os.environ.get("RUN_PORT") or 8000)


def dev_url(port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or run_port()}/"


def _what(person: DemoPerson) -> str:
    if person.role == Role.ADMIN:
        return "admin (also the Django admin at /admin/)"
    if person.manages:
        return f"manager of {person.manages}"
    return f"rep in {person.team}"


def login_lines(url: str) -> list[str]:
    """Where to sign in, each demo account with what it may do, and the shared password."""
    return [
        f"Sign in at {url} with one of these demo accounts:",
        *(f"  {person.username:<8} {_what(person)}" for person in PEOPLE),
        f"Password: {DEMO_PASSWORD}  (demo data: development only)",
    ]


def ready_banner(url: str) -> str:
    """What `make run` prints once the web process answers: the address and the logins, framed."""
    rule = "=" * 72
    lines = [
        rule,
        f"Pipeline CRM is ready: {url}",
        "",
        *login_lines(f"{url}accounts/login/"),
        "",
        "E-mails (reminders, digests) are printed here. `make logins` shows this list again.",
        "Ctrl-C stops the web server, the Celery worker and beat.",
        rule,
    ]
    return "\n".join(lines)
