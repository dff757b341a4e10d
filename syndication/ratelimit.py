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
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

FULL_COST = 4  # units a 200 costs; a 304 costs 1


class RateLimiter:
    def __init__(self, storage_uri: str, feeds: str, api: str):
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._limits = {"feeds": parse(feeds) if feeds else None, "api": parse(api) if api else None}

    def charge(self, bucket: str, client: str, cost: int = 1) -> int:
        """Charge the client; 0 when within its budget, else the seconds until it may try again."""
        item = self._limits[bucket]
        if item is None or self._limiter.hit(item, bucket, client, cost=cost):
            return 0
        reset = self._limiter.get_window_stats(item, bucket, client).reset_time
        return max(1, math.ceil(reset - time.time()))


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
