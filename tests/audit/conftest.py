"""Reading what the audit log recorded, and clients that come from a known address."""

import pytest
from django.test import Client

from audit.models import AuditEntry

CLIENT_IP = "203.0.113.9"


def logged(action):
    """The entries of this action, oldest first."""
    return list(AuditEntry.objects.filter(action=action).order_by("at", "id"))


def only(action):
    (entry,) = logged(action)
    return entry


@pytest.fixture
def signed_in():
    """signed_in(user) -> a Client signed in as `user`, its requests from CLIENT_IP."""

    def make(user):
        client = Client(REMOTE_ADDR=CLIENT_IP)
        client.force_login(user)
        return client

    return make
