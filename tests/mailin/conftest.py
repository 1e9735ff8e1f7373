from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mailin import dovecot


@pytest.fixture
def imap_server(settings) -> Iterator[dovecot.Server]:
    """A real Dovecot IMAP server with an empty INBOX; INBOUND_IMAP_URL points at it."""
    with dovecot.running() as server:
        if isinstance(server, str):
            pytest.skip(server)
        settings.INBOUND_IMAP_URL = server.url
        yield server
