"""Django's Redis cache, answering like an empty cache while Redis cannot be reached.

Everything the app keeps in the cache can be done without: sessions are read from the database
(`cached_db`), DRF's throttles and the live board counter start afresh. So when Redis is down, a
read is a miss and a write is skipped, rather than a 500 on every page. The first failure opens
a breaker: for `RETRY_SECONDS` the process does not even try (no connect timeout paid on every
call), then the next call tries again. Counters (`incr`) raise `CacheUnavailable` instead, so a
caller that counts (`pipeline_crm.rate_limit`, `deals.live`) decides what an unknown count means.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class CacheUnavailable(Exception):
    """The cache could not be reached: a counter has no value to give."""


class _Breaker:
    """Per process: since when the cache is known to be down, and when to try it again."""

    def __init__(self) -> None:
        self.retry_at = 0.0
        self.lock = threading.Lock()

    def is_open(self) -> bool:
        return self.retry_at > time.monotonic()

    def trip(self, error: Exception) -> None:
        with self.lock:
            if not self.retry_at:
                logger.warning("Redis cache unreachable, answering as an empty cache: %s", error)
            self.retry_at = time.monotonic() + RETRY_SECONDS

    def reset(self) -> None:
        if self.retry_at:
            with self.lock:
                if self.retry_at:
                    logger.warning("Redis cache reachable again")
                self.retry_at = 0.0


_breakers: dict[str, _Breaker] = {}
_RAISE = object()


def breaker_for(servers: list[str]) -> _Breaker:
    return _breakers.setdefault(",".join(servers), _Breaker())


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._breaker = breaker_for(servers)

    def _try(self, fallback: Any, operation: Callable[..., Any], *args: Any) -> Any:
        if not self._breaker.is_open():
            try:
                result = operation(*args)
            except UNREACHABLE as error:
                self._breaker.trip(error)
            else:
                self._breaker.reset()
                return result
        if fallback is _RAISE:
            raise CacheUnavailable("the cache cannot be reached")
        return fallback

    def add(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._try(False, super().add, key, value, timeout)

    def get(self, key: Any, default: Any) -> Any:
        return self._try(default, super().get, key, default)

    def set(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._try(None, super().set, key, value, timeout)

    def touch(self, key: Any, timeout: Any) -> Any:
        return self._try(False, super().touch, key, timeout)

    def delete(self, key: Any) -> Any:
        return self._try(False, super().delete, key)

    def get_many(self, keys: Any) -> Any:
        return self._try({}, super().get_many, keys)

    def has_key(self, key: Any) -> Any:
        return self._try(False, super().has_key, key)

    def incr(self, key: Any, delta: Any) -> Any:
        return self._try(_RAISE, super().incr, key, delta)

    def set_many(self, data: Any, timeout: Any) -> Any:
        return self._try(None, super().set_many, data, timeout)

    def delete_many(self, keys: Any) -> Any:
        return self._try(None, super().delete_many, keys)

    def clear(self) -> Any:
        return self._try(False, super().clear)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
        # The servers as Django split them (its stubs do not declare the attribute).
        self.breaker = breaker_for(self._servers)  # type: ignore[attr-defined]


def unreachable() -> bool:
    """Whether the default cache is known to be down now (its answers are stand-ins)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return isinstance(backend, ResilientRedisCache) and backend.breaker.is_open()
