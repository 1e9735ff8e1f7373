"""The app's WSGI application served over a real socket answers /healthz and the login page.

One test serves `pipeline_crm.wsgi.application` from a thread (any database); the other starts
gunicorn as in production — DEBUG off, a real secret key, HTTPS behind a proxy — on PostgreSQL.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

ROOT = Path(__file__).resolve().parents[2]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class ThreadedWSGIServer(WSGIServer):
    daemon_threads = True


@contextmanager
def serving_wsgi_app() -> Iterator[str]:
    from pipeline_crm.wsgi import application

    def app_closing_its_connections(environ, start_response):
        # Each request runs on a thread of its own: close its database connection afterwards,
        # or the test database could not be dropped at the end of the run.
        try:
            return list(application(environ, start_response))
        finally:
            connections.close_all()

    server = make_server(
        "127.0.0.1", 0, app_closing_its_connections, ThreadedWSGIServer, QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    """GET without following redirects: (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    # Only http:// URLs of the servers these tests start, never a file: or custom scheme.
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_the_wsgi_application_answers_healthz_and_the_login_page_over_http():
    with serving_wsgi_app() as base:
        status, headers, body = fetch(f"{base}/healthz")
        assert status == 200
        assert json.loads(body)["database"] == "ok"

        status, _, page = fetch(f"{base}/accounts/login/")
        assert status == 200
        assert 'name="username"' in page
        assert 'name="password"' in page
        assert 'name="csrfmiddlewaretoken"' in page

        status, headers, _ = fetch(f"{base}/board/")
        assert status == 302
        assert headers["Location"].startswith("/accounts/login/")


def listening_socket() -> socket.socket:
    """A socket already bound to a free port, handed to gunicorn (`--bind fd://N`): no other
    test process running at the same time can take the port between choosing and binding it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def production_env(database_url: str) -> dict[str, str]:
    test_only = ("PYTEST_VERSION", "PYTEST_XDIST_WORKER", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        # This test process's own Redis database (under pytest-xdist, its worker's).
        REDIS_URL=django_settings.REDIS_URL,
        EMAIL_URL="smtp://mail.example.com:587",
        # No collectstatic in a test run: serve static files without the manifest.
        STATIC_MANIFEST="false",
        # Close connections after each request, so the test database can be dropped after.
        CONN_MAX_AGE="0",
    )
    return env


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited early:\n{process.stdout.read()}")
        try:
            fetch(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer in time")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="gunicorn needs a shared database")
@pytest.mark.django_db(transaction=True)
def test_gunicorn_in_production_mode_serves_healthz_over_http_and_pages_over_https():
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    )
    with listening_socket() as sock:
        gunicorn = ["gunicorn", "pipeline_crm.wsgi", "--bind", f"fd://{sock.fileno()}"]
        process = subprocess.Popen(
            [sys.executable, "-m", *gunicorn],
            cwd=ROOT,
            env=production_env(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            pass_fds=[sock.fileno()],
        )
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process)

        # The orchestrator's probe: plain HTTP, no redirect.
        status, _, body = fetch(f"{base}/healthz")
        assert status == 200
        assert json.loads(body)["database"] == "ok"

        # Pages need HTTPS: plain HTTP is redirected, the proxy's forwarded HTTPS is served.
        status, headers, _ = fetch(f"{base}/accounts/login/")
        assert status == 301
        assert headers["Location"].startswith("https://")
        status, headers, page = fetch(
            f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"}
        )
        assert status == 200
        assert 'name="password"' in page
        assert "Secure" in headers.get("Set-Cookie", "")
    finally:
        process.terminate()
        process.wait(timeout=10)
    # Each worker loaded the URL configuration and compiled the templates before serving.
    assert "Warmed up: URL configuration and" in (process.stdout.read() if process.stdout else "")
