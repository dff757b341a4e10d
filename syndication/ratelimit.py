"""Polite rate limits: a budget per client (a partner's token, else the address it comes from) for
feeds and for the write API, with 429 Too Many Requests and an honest Retry-After.

Feed requests are charged by what they cost us: a 304 one unit, a full response FULL_COST units, so an
aggregator that revalidates properly can poll four times as often as one that does not. The counters live
in memory by default (each worker its own) or, with SYNDICATION_RATELIMIT_STORAGE=redis://…, in Redis,
shared by every worker on every host. Built on `limits`, the library under Flask-Limiter, because the
hot path (syndication.hotpath) must charge requests that never reach Flask.
"""

import hashlib
import math
import threading
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

FULL_COST = 4  # units a 200 costs; a 304 costs 1


class RateLimiter:
    def __init__(self, storage_uri: str, feeds: str, api: str):
        local = storage_uri.rstrip("/") == "memory:"
        self._windows = LocalWindows() if local else SharedWindows(storage_uri)
        self._limits = {"feeds": parse(feeds) if feeds else None, "api": parse(api) if api else None}

    def charge(self, bucket: str, client: str, cost: int = 1) -> int:
        """Charge the client; 0 when within its budget, else the seconds until it may try again."""
        item = self._limits[bucket]
        return 0 if item is None else self._windows.charge(item, bucket, client, cost)

    def reset(self) -> None:
        """Forget every counter (tests)."""
        self._windows.reset()


class SharedWindows:
    """Fixed windows in a storage every worker shares (Redis), through `limits`."""

    def __init__(self, storage_uri: str):
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def charge(self, item: RateLimitItem, bucket: str, client: str, cost: int) -> int:
        if self._limiter.hit(item, bucket, client, cost=cost):
            return 0
        reset = self._limiter.get_window_stats(item, bucket, client).reset_time
        return max(1, math.ceil(reset - time.time()))

    def reset(self) -> None:
        self._limiter.storage.reset()


class LocalWindows:
    """Fixed windows in this process's memory: a dict and a lock.

    Not `limits`' MemoryStorage: it expires keys from a threading.Timer that it starts anew every 10 ms
    while any key lives, so a busy worker created a hundred threads a second, and the limiter cost 7-10 %
    of hot-path throughput (BENCHMARKS.md) instead of the few microseconds a hit takes. Windows here are
    aligned to the clock (a minute's window starts on the minute); a finished window's counter is simply
    replaced by the next one's, and the dict is swept of finished windows when it grows large."""

    MAX_CLIENTS = 100_000

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], tuple[float, int]] = {}  # (bucket, client) -> (window end, used)

    def charge(self, item: RateLimitItem, bucket: str, client: str, cost: int) -> int:
        now = self._clock()
        period = item.get_expiry()
        end = now - now % period + period
        key = (bucket, client)
        with self._lock:
            window_end, used = self._counters.get(key, (0.0, 0))
            if window_end != end:
                used = 0
                if len(self._counters) >= self.MAX_CLIENTS:
                    self._sweep(now)
            used += cost
            self._counters[key] = (end, used)  # refused requests count too, as in `limits`
        return 0 if used <= item.amount else max(1, math.ceil(end - now))

    def _sweep(self, now: float) -> None:
        self._counters = {k: v for k, v in self._counters.items() if v[0] > now}

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()


def client_of(authorization: str, key: str, remote_addr: str) -> str:
    """Who is charged: a token (hashed: secrets never reach the counters' storage), else the address."""
    secret = authorization[7:].strip() if authorization[:7].lower() == "bearer " else key
    if secret:
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:32]
    return "addr:" + (remote_addr or "unknown")


def too_many_headers(retry_after: int) -> list[tuple[str, str]]:
    return [("Retry-After", str(retry_after)), ("Content-Type", "text/plain; charset=utf-8")]


def reason(retry_after: int) -> str:
    return f"This client's budget is spent; try again in {retry_after} s."


def too_many_body(retry_after: int) -> bytes:
    """The hot path's 429, worded as Flask's error handler words every error."""
    return f"429 Too Many Requests: {reason(retry_after)}\n".encode()
