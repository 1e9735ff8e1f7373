"""Where a webhook may send, and the one HTTP request that sends it (SPEC §9).

A webhook URL must be http(s) and reach public addresses only: every address its host resolves
to is checked, so a name that also points at 127.0.0.1, 10.x, 169.254.x (cloud metadata) or
fd00::/8 is refused. Private targets are allowed only with `DEBUG` or `WEBHOOK_ALLOW_PRIVATE`.

The check runs when the webhook is saved and again at every send, and the request connects to
the very address that was checked (`http.client` with the socket opened by hand; TLS still
verifies the certificate against the host name). So a DNS answer that changes between the
check and the connection (DNS rebinding) cannot steer a delivery into the private network.
That is why the standard library sends these requests rather than `requests`/`httpx`: neither
lets a caller pin the address without replacing its connection pool. Redirects are not
followed (a 3xx is a failed delivery), so a redirect cannot lead there either.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from pipeline_crm.errors import DomainError

SCHEMES = {"http": 80, "https": 443}


def private_targets_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def is_public_address(address: str) -> bool:
    """A globally routable unicast address (not private, loopback, link-local, shared, reserved,
    multicast or unspecified); an IPv4 address mapped into IPv6 is judged as itself."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart, with the addresses its host resolved to (checked)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...] = ()


def parse_url(url: str) -> Target:
    """The URL's parts, or a DomainError on `url` for anything but an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DomainError(f"This is not a valid URL: {exc}.", field="url") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DomainError("Use an http:// or https:// URL.", field="url")
    if not parts.hostname:
        raise DomainError("The URL needs a host name.", field="url")
    if parts.username or parts.password:
        raise DomainError("Put no user name or password in the URL.", field="url")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=parts.hostname, port=port or SCHEMES[scheme], path=path)


def resolve(url: str, *, allow_private: bool | None = None) -> Target:
    """Parse the URL and resolve its host; refuse it (DomainError on `url`) when any address is
    not public, unless private targets are allowed."""
    target = parse_url(url)
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DomainError(f"The host “{target.host}” does not resolve.", field="url") from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise DomainError(f"The host “{target.host}” does not resolve.", field="url")
    if allow_private is None:
        allow_private = private_targets_allowed()
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise DomainError(
                f"“{target.host}” leads to a private, loopback or link-local address "
                f"({refused[0]}): webhooks are sent to public addresses only.",
                field="url",
            )
    return Target(
        scheme=target.scheme,
        host=target.host,
        port=target.port,
        path=target.path,
        addresses=addresses,
    )


def check_url(url: str) -> str:
    """The URL as stored, once it passes: http(s), a host, public addresses (unless allowed).

    With private targets allowed (development), the host need not resolve yet."""
    if private_targets_allowed():
        parse_url(url)
    else:
        resolve(url, allow_private=False)
    return url.strip()


# --- sending ----------------------------------------------------------------------------------


def _open(address: str, port: int, timeout: float | None) -> socket.socket:
    sock = socket.create_connection((address, port), timeout)
    # As http.client does: no Nagle delay between the request's packets.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to one given address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = _open(self.address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one given address; the certificate is verified against the host name (SNI)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = _open(self.address, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status: int
    text: str  # the start of the response body, for the delivery log


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to the target's first reachable checked address. Raises OSError or
    http.client.HTTPException on a network failure (timeouts included)."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    error: OSError | None = None
    for address in target.addresses:
        connection = kind(target.host, target.port, address=address, timeout=timeout)
        try:
            try:
                connection.connect()
            except OSError as exc:  # not reached: try the next address (nothing was sent)
                error = exc
                continue
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read(2000).decode("utf-8", "replace")
            return Answer(status=response.status, text=text)
        finally:
            connection.close()
    raise error or OSError("no address to connect to")
