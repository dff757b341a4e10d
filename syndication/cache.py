"""Versioned representations: validators from per-feed versions, rendered bytes kept per process.

A feed or page is a Target: the version keys it depends on (models/version.py) and a variant string
for everything else that shapes its bytes (format, limit, cursor, public address). Its ETag is a digest
of the code, the settings, the variant and the current versions: reading the versions is one indexed
lookup, and it changes in the same transaction as any write that changes the content. So a 304 costs
that one read, and a rendered copy found under the ETag is current in every process on every host.
"""

import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from threading import Lock, local

from peewee import SqliteDatabase
from werkzeug.exceptions import NotFound
from werkzeug.http import parse_accept_header, parse_date, parse_etags

from models import Selection, db, valid_key
from models.version import CATEGORY_NAMES, INDEX, SITE, FeedVersion, article_key, category_key, tag_key

from .dates import http_date
from .feeds import EPOCH
from .metrics import CACHE
from .security import NOSNIFF, headers_for

VALIDATORS = "syndication.validators"  # WSGI environ key: validators the hot path already read
GZIP_SUFFIX = "-gz"  # the gzip-coded representation is a different one, so its strong ETag differs
# RFC 5861 §4: caches may keep serving a copy this long after it went stale while the origin fails; and so
# does this server, from what it rendered, while its database is down, with this short max-age.
STALE_IF_ERROR = 86400
STALE_MAX_AGE = 30


def _build_id() -> str:
    """A digest of the code and templates that render output: a new release means new ETags."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder, pattern in (("syndication", "*.py"), ("models", "*.py"), ("templates", "*.html")):
        for path in sorted((root / folder).rglob(pattern)):
            digest.update(path.read_bytes())
    return digest.hexdigest()


BUILD_ID = _build_id()


@dataclass(frozen=True)
class Target:
    keys: tuple[str, ...]  # the first is the target's own; the rest are shared by many targets
    variant: str
    must_exist: bool = True  # without a version for its own key, the target does not exist (yet)


def _must_be_possible(name: str, what: str) -> None:
    # A name no row can have is answered before any query (a NUL byte would make PostgreSQL's driver raise).
    if not valid_key(name):
        raise NotFound(f"There is no {what} {name[:100]!r}.")


def selection_keys(selection: Selection) -> tuple[str, ...]:
    """The version keys a selection's listing depends on: any write that changes which articles it
    holds, or any of them, changes one of these. The first is the selection's own."""
    for name in (selection.category, *selection.all_tags, *selection.any_tags, *selection.exclude):
        if name:
            _must_be_possible(name, "category or tag")
    if selection.category:
        own = (category_key(selection.category),)
    elif selection.all_tags:
        own = tuple(tag_key(t) for t in selection.all_tags)
    elif selection.any_tags:
        own = tuple(tag_key(t) for t in selection.any_tags)
    else:
        own = (SITE,)
    # Items show their categories' display names, hence CATEGORY_NAMES.
    return (*own, CATEGORY_NAMES)


def _named(selection: Selection) -> bool:
    """A selection named by a category or tags does not exist until that category or tag does."""
    return bool(selection.category or selection.all_tags)


def feed_target(selection: Selection, address: str, base_url: str, day: str = "", partner: str = "") -> Target:
    """A feed document at its canonical address. `day` is set where the document also depends on the
    date (Atom tombstones expire), so it is rendered again at most once a day for that; `partner` names
    the token a partner's copy was made for (it is never served to anyone else)."""
    return Target(selection_keys(selection), f"feed|{address}|{base_url}|{day}|{partner}", _named(selection))


def listing_target(selection: Selection, address: str, base_url: str, home: bool = False) -> Target:
    keys = selection_keys(selection)
    if home:
        keys = (*keys, INDEX)  # the home page lists the categories too
    return Target(keys, f"page|{address}|{base_url}", must_exist=_named(selection))


def share_target(article_id: str, base_url: str) -> Target:
    _must_be_possible(article_id, "article")
    return Target((article_key(article_id), CATEGORY_NAMES), f"share|{article_id}|{base_url}")


def opml_target(fmt: str, base_url: str) -> Target:
    return Target((INDEX, SITE), f"opml|{fmt}|{base_url}", must_exist=False)


class Representation:
    """One rendered feed or page, with everything needed to send it, plain or gzip-coded. The gzip
    coding is made on the first request that accepts it, once."""

    def __init__(self, body: bytes, content_type: str, etag: str, common: list[tuple[str, str]]):
        self.body = body
        self.gzipped: bytes | None = None
        self._content_type, self._etag, self._common = content_type, etag, common
        self.plain_headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("ETag", f'"{etag}"'),
            *common,
        ]
        self.gzip_headers: list[tuple[str, str]] = []
        self.latest_of = ""  # the Target.variant it is the latest rendering of (FeedCache.put)

    @property
    def size(self) -> int:
        return 2 * len(self.body)  # room for the gzip coding too: what it may grow to

    def choose(self, gzip_coded: bool) -> tuple[bytes, list[tuple[str, str]]]:
        if not gzip_coded:
            return self.body, self.plain_headers
        if self.gzipped is None:  # two threads may both compress; the bytes are the same
            gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
            self.gzip_headers = [
                ("Content-Type", self._content_type),
                ("Content-Length", str(len(gzipped))),
                ("Content-Encoding", "gzip"),
                ("ETag", f'"{self._etag}{GZIP_SUFFIX}"'),
                *self._common,
            ]
            self.gzipped = gzipped
        return self.gzipped, self.gzip_headers


@lru_cache(maxsize=4096)
def validator_headers(
    etag: str, last_modified: datetime, max_age: int, gzip_coded=False, private=False
) -> list[tuple[str, str]]:
    """The headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5). Remembered: a feed
    polled a thousand times between two changes has them formatted once. Do not change the list."""
    # RFC 5861: a cache may serve a stale copy for as long again while it revalidates. RFC 9111 §5.2.2.7:
    # a private response is for one user's cache, never a shared one.
    cache_control = (
        f"private, max-age={max_age}"
        if private
        else f"public, max-age={max_age}, stale-while-revalidate={max_age}, stale-if-error={STALE_IF_ERROR}"
    )
    return [
        ("ETag", f'"{etag}{GZIP_SUFFIX if gzip_coded else ""}"'),
        ("Last-Modified", http_date(last_modified)),
        ("Cache-Control", cache_control),
        ("Vary", "Accept-Encoding"),
        NOSNIFF,
    ]


def represent(
    body: bytes, content_type: str, etag: str, last_modified: datetime, max_age: int, extra_headers=(), private=False
) -> Representation:
    common = [
        *validator_headers(etag, last_modified, max_age, private=private)[1:],
        *headers_for(content_type),  # CSP and Referrer-Policy for pages, made once per representation
        *extra_headers,
    ]
    return Representation(body, content_type, etag, common)


def websub_links(hub: str, self_url: str) -> list[tuple[str, str]]:
    """WebSub §4: a subscriber discovers the hub and the topic from the HTTP headers."""
    return [("Link", f'<{hub}>; rel="hub"'), ("Link", f'<{self_url}>; rel="self"')] if hub else []


def is_not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified) -> bool:
    """RFC 9110 §13.2.2: If-None-Match, when sent, decides alone; only without it If-Modified-Since."""
    if if_none_match:
        # The common case, a client repeating the one tag it was given, needs no parsing.
        if if_none_match[1:-1] in (etag, etag + GZIP_SUFFIX) and if_none_match[0] == '"':
            return True
        # §13.1.2: weak comparison; either coding of the same content is the same content to a client.
        tags = parse_etags(if_none_match)
        return tags.contains_weak(etag) or tags.contains_weak(etag + GZIP_SUFFIX)
    since = parse_date(if_modified_since) if if_modified_since else None  # §13.1.3: ignore if invalid
    return since is not None and last_modified.replace(microsecond=0) <= since


def accepts_gzip(accept_encoding: str) -> bool:
    if "gzip" not in accept_encoding:
        return False
    if "q=" not in accept_encoding:  # the common "gzip, deflate, br": no need to parse
        return True
    return parse_accept_header(accept_encoding).quality("gzip") > 0


class VersionReader:
    """Reads version rows; on SQLite, remembers them while nothing has been written.

    SQLite says for nothing a connection's `PRAGMA data_version` changes when another connection (any
    process) commits, and `total_changes` counts this connection's own writes: while both stand still,
    what was read and derived before still holds, and a request costs no query at all. PostgreSQL has
    no such signal, so there every request reads its rows (one primary-key lookup)."""

    MAX_REMEMBERED = 100_000

    def __init__(self):
        self._local = local()  # connections are per thread, and so is what they have seen

    def memo(self) -> dict | None:
        """A dict valid for as long as the database has not changed, or None where that cannot be known.
        Keys are version keys (their rows) and Targets (their validators)."""
        database = db.obj
        if not isinstance(database, SqliteDatabase):
            return None
        conn = database.connection()
        stamp = (conn, conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        seen = self._local
        if getattr(seen, "stamp", None) != stamp or len(seen.memo) > self.MAX_REMEMBERED:
            seen.stamp, seen.memo = stamp, {}
        return seen.memo

    def read(self, keys: tuple[str, ...], memo: dict | None) -> dict[str, tuple[int, datetime]]:
        if memo is None:
            return FeedVersion.read(keys)
        missing = tuple(k for k in keys if k not in memo)
        if missing:
            found = FeedVersion.read(missing)
            for key in missing:
                memo[key] = found.get(key)
        return {key: memo[key] for key in keys if memo[key] is not None}


class FeedCache:
    """Rendered representations of one process, keyed by ETag, least recently used dropped first."""

    def __init__(self, settings_fingerprint: str, max_bytes: int):
        self.prefix = f"{BUILD_ID}\0{settings_fingerprint}\0".encode()
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Representation] = OrderedDict()
        self._bytes = 0
        # Per target variant, the newest representation rendered: (Last-Modified, ETag). Served while the
        # database is down (stale_reply); forgotten with the representation.
        self._latest: dict[str, tuple[datetime, str]] = {}
        self._lock = Lock()  # gthread workers share one cache between threads
        self.hits = self.misses = 0
        self.versions = VersionReader()

    def clear(self) -> None:
        """Forget every rendering and every version read (benchmarks measure cold requests with it)."""
        with self._lock:
            self._entries.clear()
            self._latest.clear()
            self._bytes = 0
        self.versions = VersionReader()

    def validators(self, target: Target) -> tuple[str, datetime, bool]:
        """(ETag, Last-Modified, whether it may exist) of the target as stored now: one read of its
        version rows."""
        memo = self.versions.memo()
        if memo is not None and (known := memo.get(target)):
            return known
        versions = self.versions.read(target.keys, memo)
        digest = hashlib.blake2b(self.prefix + target.variant.encode(), digest_size=16)
        for key in target.keys:
            digest.update(f"\0{key}={versions[key][0] if key in versions else 0}".encode())
        last_modified = max((updated for _, updated in versions.values()), default=EPOCH)
        found = digest.hexdigest(), last_modified, target.keys[0] in versions or not target.must_exist
        if memo is not None:
            memo[target] = found
        return found

    def get(self, etag: str, count_miss: bool = True) -> Representation | None:
        """The cached representation, or None. The hot path looks without counting a miss: Flask,
        which it hands the request to, looks again and counts it."""
        with self._lock:
            found = self._entries.get(etag)
            if found is None:
                if count_miss:
                    self.misses += 1
                    CACHE.labels("miss").inc()
                return None
            self._entries.move_to_end(etag)
            self.hits += 1
        CACHE.labels("hit").inc()
        return found

    def put(
        self, etag: str, representation: Representation, latest_of: str = "", last_modified: datetime = EPOCH
    ) -> Representation:
        """Keep it; with latest_of (a public target's variant), also as that target's copy to serve while
        the database is down, unless a newer one is kept already."""
        if representation.size > self.max_bytes:
            return representation
        with self._lock:
            stored = self._entries.get(etag)
            if stored is None:
                stored = self._entries[etag] = representation
                self._bytes += representation.size
            if latest_of:
                kept = self._latest.get(latest_of)
                if kept is None or kept[0] <= last_modified:
                    self._latest[latest_of] = (last_modified, etag)
                    stored.latest_of = latest_of
            while self._bytes > self.max_bytes:
                dropped_etag, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size
                if dropped.latest_of and self._latest.get(dropped.latest_of, (0, ""))[1] == dropped_etag:
                    del self._latest[dropped.latest_of]
        return representation

    def stale(self, target: Target) -> tuple[str, datetime, Representation] | None:
        """The newest representation of the target still kept, whatever the versions say now."""
        with self._lock:
            last_modified, etag = self._latest.get(target.variant, (EPOCH, ""))
            representation = self._entries.get(etag)
        return None if representation is None else (etag, last_modified, representation)


def stale_reply(cache: FeedCache, target: Target, environ) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """While the database is down: the target as this process last rendered it (RFC 5861 stale-if-error),
    or a 304 to a client that holds that very copy; None when there is none. Its ETag and Last-Modified are
    the copy's own; a short max-age brings caches back soon."""
    found = cache.stale(target)
    if found is None:
        return None
    etag, last_modified, representation = found
    cache_control = ("Cache-Control", f"public, max-age={STALE_MAX_AGE}, stale-if-error={STALE_IF_ERROR}")
    gzip_coded = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
    if is_not_modified(environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE"), etag, last_modified):
        status, headers, body = (
            "304 Not Modified",
            validator_headers(etag, last_modified, STALE_MAX_AGE, gzip_coded),
            b"",
        )
    else:
        status, (body, headers) = "200 OK", representation.choose(gzip_coded)
    return status, [cache_control if name == "Cache-Control" else (name, value) for name, value in headers], body
