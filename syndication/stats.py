"""Subscriber statistics: feed polls recorded on the way out, stored in batches, reported by `flask stats`.

The request pays for one tuple appended to this process's buffer (`Recorder.record`, called by the hot
path and, for what Flask answers, by an after_request hook). A background thread empties the buffer
every few seconds, or sooner when it fills, and again at exit: it reads the User-Agent (counts that
aggregators report, syndication.useragents), digests other clients under the day's salt, and writes the
lot in one transaction of a few multi-row upserts (models.stats). Every gunicorn worker flushes its own
buffer into the shared tables; the upserts give the same result in any order.

Only polls of feeds count: /feed.*, /category/<slug>.*, /tag/<tags>.*, answered 200 or 304. The address
is the path, without its query (`?limit=`, `?key=` …), percent-decoded.
"""

import atexit
import hashlib
import logging
import re
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from time import time
from urllib.parse import unquote, urlsplit

import click
from flask import Flask, current_app, request
from flask.cli import with_appcontext

from models import db, utc_now
from models.schema import pending
from models.stats import Poller, StatsSalt, SubscriberCount, report

from .database import release
from .useragents import MAX_AGENT, subscribers

log = logging.getLogger(__name__)

FEED_ENDPOINTS = frozenset({"feeds.site_feed", "feeds.category_feed", "feeds.tag_feed"})
POLLED = (200, 304)
FLUSH_SECONDS = 5.0
BATCH = 10_000  # a fuller buffer is flushed at once (a few seconds of a busy worker's polls)
MAX_BUFFER = 100_000  # while the database is unreachable, the oldest polls beyond this are dropped
# A day's salt and digests are kept this long after the day ends, for batches still on their way.
GRACE = timedelta(minutes=10)
KNOWN_POLLERS = 200_000  # digests this process has stored today, not written again (beyond: forgotten)
MAX_ADDRESS = 255
_FEED_PATH = re.compile(r"/(?:feed|category/[^/]+|tag/[^/]+)\.(?:rss|atom|json)")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def feed_address(path: str) -> str | None:
    """The feed address a request path (or a typed address: a URL, percent-encoded or not) names, or
    None when it names no feed."""
    if "://" in path:
        path = urlsplit(path).path
    path = unquote(path.split("?", 1)[0])
    if len(path) > MAX_ADDRESS or not _FEED_PATH.fullmatch(path):
        return None
    return path


def _request_path(path_info: str) -> str | None:
    # WSGI gives the path as latin-1 text of the raw bytes; addresses are UTF-8 (as werkzeug reads them).
    try:
        path = path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    return path if len(path) <= MAX_ADDRESS and _FEED_PATH.fullmatch(path) else None


def _ignore(environ) -> None:
    pass


class Recorder:
    """One per process: a buffer of polls and the thread that stores them."""

    def __init__(
        self,
        enabled: bool = True,
        flush_seconds: float = FLUSH_SECONDS,
        batch: int = BATCH,
        max_buffer: int = MAX_BUFFER,
        clock: Callable[[], float] = time,
        background: bool = True,
    ):
        self.enabled = enabled
        self.background = background  # False: stored only when flush() is called (tests)
        self.clock = clock
        self.flush_seconds = flush_seconds
        self.batch = batch
        self._buffer: deque = deque(maxlen=max_buffer)
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._salts: dict[date, bytes] = {}
        self._known: set[tuple[date, str, str]] = set()
        self._swept_before: date | None = None
        if not enabled:
            self.record = _ignore  # the hot path calls it unconditionally: off costs one call

    def record(self, environ) -> None:
        """Remember one answered poll. On the request's path: no parsing, no I/O."""
        buffer = self._buffer
        buffer.append(
            (
                self.clock(),
                environ.get("PATH_INFO", ""),
                environ.get("REMOTE_ADDR", ""),
                environ.get("HTTP_USER_AGENT", ""),
            )
        )
        if self._thread is None:
            if self.background:
                self._start()
        elif len(buffer) >= self.batch and not self._wake.is_set():
            self._wake.set()

    def pending(self) -> int:
        return len(self._buffer)

    def _start(self) -> None:
        # Started by the first poll, so in the process that serves (a gunicorn worker), never before a fork.
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stats", daemon=True)
                self._thread.start()
                atexit.register(self._flush_quietly)

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self._flush_quietly()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread after a last flush (at exit the interpreter flushes without it)."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # the database may be down: statistics must never take the server with them
            log.exception("Storing subscriber statistics failed; those polls are not counted")

    def flush(self, now: datetime | None = None) -> int:
        """Store what the buffer holds; return how many polls that was."""
        with self._flush_lock:
            polls = []
            buffer = self._buffer
            while buffer:
                polls.append(buffer.popleft())
            if not polls:
                return 0
            salts, swept = dict(self._salts), self._swept_before
            try:
                db.connect(reuse_if_open=True)
                with db.atomic():  # on SQLite, BEGIN IMMEDIATE (syndication/database.py)
                    stored = self._store(polls, now or utc_now())
            except Exception:
                # What the failed transaction made or deleted, it did not: a salt, a sweep.
                self._salts, self._swept_before = salts, swept
                raise
            finally:
                release()
            if len(self._known) + len(stored) > KNOWN_POLLERS:
                self._known.clear()
            self._known |= stored
            return len(polls)

    def _store(self, polls: list[tuple], now: datetime) -> set[tuple[date, str, str]]:
        """Write a batch; return the pollers it stored (day, feed, digest)."""
        open_from = (now - GRACE).date()  # days before this one are over: their salts are gone
        latest: dict[tuple, float] = {}
        for moment, path, address, agent in polls:  # clients repeat themselves: each once, at its latest
            latest[int(moment // 86400), path, address, agent] = moment
        counts: dict[tuple, tuple[int, float]] = {}
        pollers = set()
        feeds: dict[str, str | None] = {}
        parsed: dict[str, tuple[str, str, int] | None] = {}
        for (day_number, path_info, address, agent), moment in latest.items():
            if path_info not in feeds:
                feeds[path_info] = _request_path(path_info)
            if (feed := feeds[path_info]) is None:
                continue
            day = date.fromordinal(_EPOCH_ORDINAL + day_number)
            if agent not in parsed:
                parsed[agent] = subscribers(agent)
            if reported := parsed[agent]:
                aggregator, feed_id, count = reported
                key = (day, feed, aggregator, feed_id)
                if key not in counts or counts[key][1] <= moment:
                    counts[key] = (count, moment)
            elif day >= open_from:
                pollers.add((day, feed, self._digest(day, address, agent)))
        SubscriberCount.record(
            (*key, count, datetime.fromtimestamp(moment, UTC)) for key, (count, moment) in counts.items()
        )
        pollers -= self._known  # stored by this process already today: the database has them
        Poller.record(pollers)
        if self._swept_before != open_from:
            self._sweep(open_from)
        return pollers

    def _digest(self, day: date, address: str, agent: str) -> str:
        salt = self._salts.get(day)
        if salt is None:
            salt = self._salts[day] = StatsSalt.for_day(day)
        text = f"{address}\n{agent[:MAX_AGENT]}".encode("utf-8", "replace")
        return hashlib.blake2b(text, key=salt, digest_size=16).hexdigest()

    def _sweep(self, open_from: date) -> None:
        """Once per day and process: forget the salts of days that are over, and fold their digests."""
        StatsSalt.forget_before(open_from)
        Poller.compact(open_from)
        for day in [d for d in self._salts if d < open_from]:
            del self._salts[day]
        self._known = {poller for poller in self._known if poller[0] >= open_from}
        self._swept_before = open_from


def recorder(app: Flask | None = None) -> Recorder:
    return (app or current_app).extensions["syndication.stats"]


def init_app(app: Flask) -> None:
    # Under test, polls are stored when a test says so: a thread of an earlier test's app would write
    # into whatever database the models are bound to by then.
    stats = Recorder(app.config["SYNDICATION_STATS"] == "on", FLUSH_SECONDS, BATCH, background=not app.testing)
    app.extensions["syndication.stats"] = stats
    if stats.enabled:

        @app.after_request
        def _record_poll(response):
            # What the hot path answers it records itself; this is what Flask answered.
            if response.status_code in POLLED and request.endpoint in FEED_ENDPOINTS:
                stats.record(request.environ)
            return response


@click.command("stats")
@click.option("--feed", default="", help="Only this feed address (/feed.rss, or its full URL).")
@click.option(
    "--days", type=click.IntRange(1, 3660), default=7, show_default=True, help="Days to show, today (UTC) included."
)
@with_appcontext
def stats_command(feed: str, days: int) -> None:
    """Followers of each feed per UTC day: subscribers aggregators report (summed over aggregators and
    their feed ids), other distinct pollers, and the two added up."""
    if waiting := pending(db):
        raise click.ClickException(f"{len(waiting)} schema migration(s) pending: run `flask migrate` first.")
    feeds = None
    if feed:
        address = feed_address(feed)
        if address is None:
            raise click.BadParameter(
                f"{feed!r} is not a feed address (/feed.rss, /category/<slug>.atom, /tag/<tag>.json …)",
                param_hint="--feed",
            )
        feeds = [address]
    since = utc_now().date() - timedelta(days=days - 1)
    rows = report(since, feeds)
    if not rows:
        click.echo(f"No feed polls recorded since {since.isoformat()}" + (f" for {feeds[0]}." if feeds else "."))
        return
    header = ("day", "feed", "aggregators", "other pollers", "total")
    lines = [(r.day.isoformat(), r.feed, f"{r.subscribers:,}", f"{r.pollers:,}", f"{r.total:,}") for r in rows]
    width = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    for line in [header, *lines]:
        cells = [
            line[0].ljust(width[0]),
            line[1].ljust(width[1]),
            *(c.rjust(w) for c, w in zip(line[2:], width[2:], strict=True)),
        ]
        click.echo("  ".join(cells).rstrip())
