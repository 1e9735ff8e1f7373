"""What every bench script does first: pick its own database and make sure it exists.

A bench script never touches the database behind DATABASE_URL: it works in one whose name
contains "bench" (BENCH_DATABASE_URL, or the script's default), created and migrated here.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def fail_unless(ok: bool, *details: object) -> None:
    """Stop the bench when a measured request did not do its job: a figure of an error page
    means nothing. (An `assert` would vanish under `python -O`.)"""
    if not ok:
        raise SystemExit(f"Unexpected answer: {details!r}")


def use_bench_database(default_name: str) -> str:
    """Point Django at the bench database (before django.setup()); returns its URL."""
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{default_name}")
    if "bench" not in urlparse(url).path:
        sys.exit("Refusing to use a database whose name does not contain 'bench'.")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return url


def ensure_database(url: str) -> None:
    """Create the database `url` names when it does not exist yet."""
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup(url: str) -> None:
    """Create the database if needed, start Django and migrate."""
    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def server_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend (same machine only), from /proc: on a
    busy machine wall time waits for the CPU; Python + PostgreSQL CPU is what an idle one needs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def people():
    """Four reps in two teams and an admin (created once, found afterwards)."""
    from django.contrib.auth.models import Group

    from accounts.models import Team, User

    def user(name: str, role: str) -> User:
        found, created = User.objects.get_or_create(
            username=f"bench_{name}", defaults={"first_name": name.title()}
        )
        if created:
            found.set_password("bench-password-1")
            found.save()
            found.groups.add(Group.objects.get(name=role))
        return found

    reps = [user(f"rep{i}", "rep") for i in range(4)]
    admin = user("admin", "admin")
    for index, members in enumerate((reps[:2], reps[2:])):
        team, _ = Team.objects.get_or_create(name=f"Bench team {index}")
        team.members.add(*members)
    return reps, admin


# --- measuring ------------------------------------------------------------------------------------


def timed(fn, repeat: int) -> list[float]:
    for _ in range(3):  # warm caches, connections and templates
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def count_queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1] if len(samples) >= 10 else max(samples)


def report(label: str, samples: list[float], queries: int | None = None) -> None:
    extra = f"  {queries:>3} queries" if queries is not None else ""
    print(
        f"  {label:<38} median {statistics.median(samples):7.1f} ms"
        f"  p90 {p90(samples):7.1f} ms{extra}"
    )


def get_ok(client, url: str):
    def fn():
        response = client.get(url)
        fail_unless(response.status_code == 200, url, response.status_code)
        return response

    return fn


def load_average() -> str:
    """The machine's load average (1, 5, 15 min), to print next to figures taken on it."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- serving over HTTP ---------------------------------------------------------------------------

# gunicorn as in production (DEBUG off, gunicorn.conf.py), on plain HTTP over loopback.
SERVER_ENVIRONMENT = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "STATIC_MANIFEST": "false",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_gunicorn(
    database_url: str,
    port: int,
    *,
    workers: int,
    env: Mapping[str, str] | None = None,
    log: IO[bytes] | None = None,
    wait: bool = True,
) -> subprocess.Popen[bytes]:
    """gunicorn on `database_url` with the repository's gunicorn.conf.py (read from ROOT),
    `workers` processes, its output to `log` (default: ours); returns once /healthz answers
    (at once without `wait`: then call `wait_until_up`)."""
    environment = {**os.environ, **SERVER_ENVIRONMENT, "DATABASE_URL": database_url, **(env or {})}
    command = [sys.executable, "-m", "gunicorn", "pipeline_crm.wsgi", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    server = subprocess.Popen(  # noqa: S603 - our own command
        command, cwd=ROOT, env=environment, stdout=log, stderr=log
    )
    if wait:
        wait_until_up(server, port)
    return server


def wait_until_up(server: subprocess.Popen[bytes], port: int) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not start")


class Browser:
    """A signed-in session: cookies kept, the CSRF token sent as the board's htmx does."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        login = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)
        if token is None:
            sys.exit("no CSRF token on the login page")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
        self.post("/accounts/login/", form)
        if not any(cookie.name == "sessionid" for cookie in self.jar):
            sys.exit(f"{username} could not sign in")

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return str(response.read().decode())

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken") or ""

    def post(self, path: str, data: dict[str, object]) -> int:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        request.add_header("X-CSRFToken", self.csrf())
        request.add_header("HX-Request", "true")
        request.add_header("Referer", self.base + "/board/")
        with self.opener.open(request, timeout=30) as response:
            response.read()
            return int(response.status)
