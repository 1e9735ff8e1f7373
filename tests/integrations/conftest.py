"""A local webhook receiver (an HTTP server on 127.0.0.1 in a thread) and the set-up to reach it.

The receiver records every request (headers and raw body) and answers with the status codes
it is told, in order (then 200), so a test can make it fail and recover.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.models import Webhook
from pipeline_crm.celery import app as celery_app
from tests.factories import UserFactory


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers["X-CRM-Event"]

    def signature_verifies(self, secret: str) -> bool:
        """What a receiver does (README): HMAC-SHA256 of "<timestamp>.<body>"."""
        signed = self.headers["X-CRM-Timestamp"].encode() + b"." + self.body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-CRM-Signature"])


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def events(self) -> list[str]:
        return [r.event for r in self.requests]

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (then 200)."""
        self.statuses.extend(statuses)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.requests.append(Received(headers=dict(self.headers.items()), body=body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver is down")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(url="")))
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/crm")
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings):
    """The receiver listens on 127.0.0.1: allowed only with this setting (or DEBUG)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks run inline when queued (a real worker: test_webhooks_worker.py)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def admin(db):
    return UserFactory(username="webhook-admin", role="admin")


@pytest.fixture
def webhook(receiver, allow_private, admin) -> Webhook:
    """Subscribed to every event, pointing at the receiver."""
    from integrations.models import Event

    return Webhook.objects.create(
        url=receiver.url,
        events=list(Event.values),
        secret="s3cret-for-the-tests",  # noqa: S106 (a test's secret)
        created_by=admin,
    )


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks, eager_tasks):
    """after_commit(): a context in which what runs on commit runs (listeners, tasks)."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
