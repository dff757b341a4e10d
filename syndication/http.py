"""HTTP for feeds and pages in Flask: conditional GET (RFC 9110 §13), cached and compressed bodies.

The same rules serve the hot path (syndication.hotpath), which answers the common requests without
Flask; both take validators and representations from syndication.cache.
"""

from collections.abc import Callable

from flask import Response, current_app, request
from werkzeug.exceptions import TooManyRequests

from .cache import (
    VALIDATORS,
    FeedCache,
    Target,
    accepts_gzip,
    is_not_modified,
    represent,
    stale_reply,
    validator_headers,
)
from .database import FAILURE
from .metrics import RENDER
from .ratelimit import FULL_COST, client_of, reason

RETRY_AFTER = 30  # seconds a client is asked to wait while the database is down
TARGET = "syndication.target"  # WSGI environ key: the request's target, should the database fail under it


def feed_cache() -> FeedCache:
    return current_app.extensions["syndication.cache"]


def check_budget(bucket: str, cost: int = 1) -> None:
    """Charge this request to its client's budget; 429 with Retry-After when it is spent."""
    client = client_of(request.headers.get("Authorization", ""), request.args.get("key", ""), request.remote_addr)
    if wait := current_app.extensions["syndication.ratelimit"].charge(bucket, client, cost):
        raise TooManyRequests(reason(wait), retry_after=wait)


def versioned_response(
    target: Target,
    content_type: str,
    render: Callable[[], bytes],
    max_age: int | None = None,
    extra_headers: list[tuple[str, str]] = (),
    private: bool = False,
    charge: str = "",
) -> Response:
    """A 304 from the target's versions alone, else its representation, rendered at most once per
    version and process. render() raises NotFound for a target that does not exist."""
    cache = feed_cache()
    request.environ[TARGET] = target
    if (failure := request.environ.get(FAILURE)) is not None:
        raise failure  # the database is down: syndication.views serves the target stale, or a 503
    if max_age is None:
        max_age = current_app.config["SYNDICATION_CACHE_MAX_AGE"]
    known = request.environ.get(VALIDATORS)
    if known and known[0] == target:
        etag, last_modified, may_exist = known[1:]
    else:
        etag, last_modified, may_exist = cache.validators(target)
    if not may_exist:
        render()  # settles whether it exists: NotFound propagates; an empty one renders once, uncached
    gzip_coded = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    fresh = request.method in ("GET", "HEAD") and is_not_modified(
        request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"), etag, last_modified
    )
    if charge:
        check_budget(charge, 1 if fresh else FULL_COST)
    if fresh:
        headers = [*validator_headers(etag, last_modified, max_age, gzip_coded, private), *extra_headers]
        response = Response(status=304, headers=headers)
        del response.headers["Content-Type"]  # a 304 has no content to describe
        return response
    representation = cache.get(etag)
    if representation is None:
        with RENDER.labels(target.variant.split("|", 1)[0]).time():
            body = render()
        representation = cache.put(
            etag,
            represent(body, f"{content_type}; charset=utf-8", etag, last_modified, max_age, extra_headers, private),
            latest_of="" if private else target.variant,  # a partner's copy is never served stale to anyone
            last_modified=last_modified,
        )
    body, headers = representation.choose(gzip_coded)
    return Response(body, headers=headers)


def stale_response() -> Response | None:
    """While the database is down: this request's target as last rendered in this process (a feed, page
    or share page), or None. The target is the view's, or, when the database failed before the view ran,
    the one the hot path reads from the address."""
    target = request.environ.get(TARGET)
    if target is None:
        try:
            found = current_app.extensions["syndication.hotpath"].target(request.environ)
        except Exception:  # an address no target can have
            found = None
        target = found[0] if found else None
    reply = stale_reply(feed_cache(), target, request.environ) if target else None
    if reply is None:
        return None
    status, headers, body = reply
    response = Response(body, status=status, headers=headers)
    if response.status_code == 304:
        del response.headers["Content-Type"]
    return response
