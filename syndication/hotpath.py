"""The hot path: polls of feeds and pages answered in front of Flask.

Most requests an aggregator sends are a GET for a feed it polled before: the answer is a 304 or bytes
already rendered. This WSGI middleware recognises those addresses itself, reads the target's versions
(one primary-key lookup), and answers with a 304 or the cached representation, without routing, request
objects or views. Anything else, a cache miss included, goes to Flask, which renders, caches, and
answers by the very same rules (syndication.cache), so both paths send identical responses.
"""

import re
from datetime import UTC, datetime

from flask import Flask
from peewee import DatabaseError
from werkzeug.wsgi import get_current_url

from models import Selection, db

from .cache import (
    VALIDATORS,
    Target,
    accepts_gzip,
    feed_target,
    is_not_modified,
    listing_target,
    opml_target,
    share_target,
    stale_reply,
    validator_headers,
    websub_links,
)
from .database import FAILURE, UNAVAILABLE, discard, release
from .metrics import REQUESTS
from .ratelimit import FULL_COST, client_of, too_many_body, too_many_headers
from .security import NOSNIFF
from .site import feed_path, page_path

_FEED = re.compile(r"^/(?:feed|(category|tag)/([^/+]+))\.(rss|atom|json)$")
_PAGE = re.compile(r"^/(?:(category|tag)/([^/+]+)\.html)?$")
_SELECTIONS = {
    "site": lambda name: Selection(),
    "category": lambda name: Selection(category=name),
    "tag": lambda name: Selection(all_tags=(name,)),
}
_SHARE = re.compile(r"^/share/([^/]+)\.html$")
_LIMIT = re.compile(r"^limit=([1-9][0-9]{0,5})$")


class HotPath:
    def __init__(self, app: Flask, wsgi_app):
        self.flask_app = wsgi_app
        self.cache = app.extensions["syndication.cache"]
        config = app.config
        self.site_url = config["SYNDICATION_SITE_URL"].rstrip("/")
        self.max_age = config["SYNDICATION_CACHE_MAX_AGE"]
        self.feed_limit = config["SYNDICATION_FEED_LIMIT"]
        self.page_limit = config["SYNDICATION_PAGE_LIMIT"]
        self.max_limit = config["SYNDICATION_FEED_MAX_LIMIT"]
        self.hub = config["SYNDICATION_WEBSUB_HUB"]
        self.limiter = app.extensions["syndication.ratelimit"]
        self.record_poll = app.extensions["syndication.stats"].record
        app.extensions["syndication.hotpath"] = self  # Flask asks it for targets when the database is down

    def target(self, environ) -> tuple[Target, list[tuple[str, str]]] | None:
        """The target of a request this path can answer, with the headers it adds; None leaves the
        request to Flask (which also settles anything unusual: it answers by the same rules)."""
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
            return None  # partners' requests are Flask's: their copies are theirs alone
        # WSGI gives the path as latin-1 text of the raw bytes; addresses are UTF-8 (as werkzeug reads them).
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        query = environ.get("QUERY_STRING", "")
        limit = None
        if query:
            m = _LIMIT.match(query)
            if not m or int(m.group(1)) > self.max_limit:
                return None  # Flask reads (or refuses) other parameters
            limit = int(m.group(1))
        base_url = self.site_url or get_current_url(environ, root_only=True).rstrip("/")
        if m := _FEED.match(path):
            kind, name, fmt = m.group(1) or "site", m.group(2), m.group(3)
            if limit == self.feed_limit:
                return None  # not the canonical address: Flask redirects
            selection = _SELECTIONS[kind](name)
            names = (name,) if name else ()
            address = feed_path(kind, names, fmt, f"?limit={limit}" if limit else "")
            day = datetime.now(UTC).date().isoformat() if fmt == "atom" else ""
            return feed_target(selection, address, base_url, day), websub_links(self.hub, base_url + address)
        if query and limit == self.page_limit:
            return None
        if m := _SHARE.match(path):
            return None if query else (share_target(m.group(1), base_url), [])
        if m := _PAGE.match(path):
            kind, name = m.group(1) or "site", m.group(2)
            address = page_path(kind, (name,) if name else (), f"?limit={limit}" if limit else "")
            return listing_target(_SELECTIONS[kind](name), address, base_url, home=kind == "site"), []
        if path == "/feeds.opml" and not query:
            return opml_target("rss", base_url), []
        return None

    def __call__(self, environ, start_response):
        try:
            found = self.target(environ)
        except Exception:  # e.g. a name no row can have: Flask answers it properly
            found = None
        if found is None:
            return self.flask_app(environ, start_response)
        target, extra_headers = found
        route = "hot:" + target.variant.split("|", 1)[0]  # hot:feed, hot:page, hot:share, hot:opml
        try:
            db.connect(reuse_if_open=True)
            etag, last_modified, may_exist = self.cache.validators(target)
        except UNAVAILABLE as e:
            discard()
            if stale := stale_reply(self.cache, target, environ):  # RFC 5861 stale-if-error
                status, headers, body = stale
                REQUESTS.labels(route, status[:3]).inc()
                start_response(status, headers)
                return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
            environ[FAILURE] = e  # Flask answers 503 without trying the database again
            return self.flask_app(environ, start_response)
        except DatabaseError:
            return self.flask_app(environ, start_response)  # Flask reports the failure
        finally:
            release()
        # What was read here is as current for Flask's view in this same request: no second read.
        environ[VALIDATORS] = (target, etag, last_modified, may_exist)
        if not may_exist:
            return self.flask_app(environ, start_response)
        gzip_coded = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        fresh = is_not_modified(
            environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE"), etag, last_modified
        )
        representation = None if fresh else self.cache.get(etag, count_miss=False)
        if not fresh and representation is None:
            return self.flask_app(environ, start_response)  # renders it (and charges it) by the same rules
        if target.variant.startswith("feed|"):
            client = client_of("", "", environ.get("REMOTE_ADDR", ""))
            if wait := self.limiter.charge("feeds", client, 1 if fresh else FULL_COST):
                REQUESTS.labels(route, "429").inc()
                start_response("429 Too Many Requests", [*too_many_headers(wait), NOSNIFF])
                return [too_many_body(wait)]
            self.record_poll(environ)  # subscriber statistics: one tuple appended (syndication.stats)
        REQUESTS.labels(route, "304" if fresh else "200").inc()
        if fresh:
            headers = validator_headers(etag, last_modified, self.max_age, gzip_coded)
            start_response("304 Not Modified", [*headers, *extra_headers] if extra_headers else headers)
            return []
        body, headers = representation.choose(gzip_coded)
        start_response("200 OK", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
