"""Fixed-window counters in the shared cache (Redis in production), for limits DRF's throttles
do not cover, such as the password reset form.

While the shared cache cannot be reached, each process counts on its own (`_local`): the limit
still holds per process, so with N processes a client gets at most N times as many tries,
rather than either none (a reset form that refuses everyone) or unlimited ones.
"""

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from pipeline_crm.cache import CacheUnavailable

_local = LocMemCache("pipeline_crm.rate_limit.fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


def _count(counters: BaseCache, key: str, window_seconds: int) -> int:
    counters.add(key, 0, timeout=window_seconds)
    try:
        return int(counters.incr(key))
    except ValueError:  # the window ended between add and incr: this use opens the next one
        counters.set(key, 1, timeout=window_seconds)
        return 1


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one use of `key`; False once it has been used more than `limit` times in the
    window that its first use opened. Redis's INCR is atomic, so parallel requests all count."""
    try:
        used = _count(cache, key, window_seconds)
    except CacheUnavailable:
        used = _count(_local, key, window_seconds)
    return used <= limit
