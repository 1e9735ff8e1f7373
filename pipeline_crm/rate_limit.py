"""Fixed-window counters in the shared cache (Redis in production), for limits DRF's throttles
do not cover, such as the password reset form."""

from django.core.cache import cache


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one use of `key`; False once it has been used more than `limit` times in the
    window that its first use opened. Redis's INCR is atomic, so parallel requests all count."""
    cache.add(key, 0, timeout=window_seconds)
    try:
        used = cache.incr(key)
    except ValueError:  # the window ended between add and incr: this use opens the next one
        cache.set(key, 1, timeout=window_seconds)
        used = 1
    return used <= limit
