"""The client's IP address, the one rule shared by login lockout (django-axes) and DRF throttles.

`REMOTE_ADDR` is the address that opened the connection. Behind `NUM_PROXIES` trusted reverse
proxies, each appending to X-Forwarded-For, the client is the entry that many places from the
end: anything further left was written by the client and proves nothing. With NUM_PROXIES=0
(the default) the header is ignored, so rotating it cannot dodge a lockout or a throttle.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote_addr = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(getattr(settings, "NUM_PROXIES", 0))
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    # The same choice as DRF's BaseThrottle.get_ident with REST_FRAMEWORK["NUM_PROXIES"].
    return hops[-min(proxies, len(hops))]
