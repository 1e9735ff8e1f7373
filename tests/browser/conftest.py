"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Every browser test is marked `browser` and uses a transactional database (the live server runs
in another thread); `serialized_rollback` brings back the migration-seeded default pipeline.
"""

import importlib
import os
from pathlib import Path

import pytest

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls in the test bodies are
# still plain synchronous code, so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(autouse=True)
def seed_data(transactional_db):
    """The rows the migrations seed (roles, the default pipeline), whatever ran before
    (a transactional test without `serialized_rollback` leaves the tables flushed). Both
    seeding functions are idempotent."""
    from django.apps import apps

    for module, function in (
        ("accounts.migrations.0002_roles", "create_roles"),
        ("deals.migrations.0002_default_pipeline", "create_default_pipeline"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture
def chromium(transactional_db, seed_data, monkeypatch):
    """Chromium for one test, started after the test database is set up and stopped before it
    is torn down: while Playwright's event loop runs, Django hands the ORM a connection of its
    own (connections are keyed by async context), and the test database's setup and teardown
    (serialized rollback, flush) must happen on the usual one."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # The live server answers each request in a thread of its own: connections kept open
    # would outlive those threads and hold the test database at teardown.
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        connections.close_all()  # the connection the ORM used beside Playwright's loop


@pytest.fixture
def open_page(chromium, live_server):
    """open_page(user, path="/board/", width=1280) -> a page signed in through the login form.
    `bypass_csp=True` lets a test inject a script of its own (axe-core) into the pages."""
    contexts = []

    def make(user, path="/board/", width=1280, height=800, bypass_csp=False):
        context = chromium.new_context(
            viewport={"width": width, "height": height}, bypass_csp=bypass_csp
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(8000)
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(f"{live_server.url}/accounts/login/?next={path}")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    def save(page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))

    return save


@pytest.fixture
def gets_sent():
    """gets_sent(page, "/deals/") -> the list, filled as they go, of the GETs with a query string
    the page sends to that path from now on (a filter form's requests, not its scripts')."""

    def watch(page, path):
        sent = []

        def note(request):
            if request.method == "GET" and f"{path}?" in request.url:
                sent.append(request.url)

        page.on("request", note)
        return sent

    return watch
