"""Republishing partners' feeds: poll each due source, turn its entries into articles, remember the outcome.

An entry's article id is the source's name and a digest of the entry's own id (its guid, else its link),
so polling again never makes a second article, and an entry edited upstream updates the one it made.
Entries go through the importer's path (posts.draft_from: validation, sanitizing) and the importer's
store (Article.store_many: one transaction a batch, feed versions bumped, WebSub told). Each article
carries its source's name and the entry's original link, which every feed and the share page show.
"""

import hashlib
import html
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from models import Article, Draft, Source

from .fetch import Fetched, FetchError, fetch
from .metrics import SOURCE_ENTRIES, SOURCE_POLLS
from .posts import PostError, draft_from
from .text import plain_text, shorten
from .upstream import Entry, FeedError, ParsedFeed, parse_feed

BATCH_SIZE = 500
PARALLEL_FETCHES = 8
TITLE_LENGTH = 120


@dataclass
class Settings:
    timeout: float
    max_bytes: int
    backoff: timedelta
    user_agent: str
    zone: tzinfo

    @classmethod
    def from_config(cls, config, zone: tzinfo) -> "Settings":
        site = config["SYNDICATION_SITE_URL"] or "no public address set"
        return cls(
            timeout=float(config["SYNDICATION_SOURCE_TIMEOUT"]),
            max_bytes=config["SYNDICATION_SOURCE_MAX_BYTES"],
            backoff=timedelta(seconds=config["SYNDICATION_SOURCE_BACKOFF"]),
            user_agent=f"syndication-server feed fetcher (+{site})",
            zone=zone,
        )


@dataclass
class Poll:
    """What one poll of one source did."""

    source: Source
    outcome: str  # fetched, not_modified, failed
    message: str
    counts: Counter = field(default_factory=Counter)  # imported / updated / unchanged / failed / skipped
    failures: list[tuple[str, str]] = field(default_factory=list)  # (entry link or id, reason)


def article_id(source_name: str, entry_key: str) -> str:
    return f"{source_name}.{hashlib.sha256(entry_key.encode()).hexdigest()[:20]}"


def poll_due(settings: Settings, now: datetime, names: tuple[str, ...] = (), force: bool = False) -> list[Poll]:
    """Poll every source that is due (all named ones with `force`): the network in parallel, the
    database one source at a time."""
    sources = Source.due(now, names, force)

    def get(source: Source) -> Fetched | FetchError:
        try:
            return fetch(
                source.url,
                etag=source.etag,
                last_modified=source.last_modified,
                user_agent=settings.user_agent,
                timeout=settings.timeout,
                max_bytes=settings.max_bytes,
                now=now,
            )
        except FetchError as e:
            return e

    with ThreadPoolExecutor(max_workers=min(PARALLEL_FETCHES, len(sources) or 1)) as pool:
        answers = pool.map(get, sources)
        return [record(source, answer, settings, now) for source, answer in zip(sources, answers, strict=True)]


def record(source: Source, answer: Fetched | FetchError, settings: Settings, now: datetime) -> Poll:
    """Store what the source answered, and when to ask it again."""
    poll = _outcome(source, answer, settings, now)
    SOURCE_POLLS.labels(poll.outcome).inc()
    for outcome, count in poll.counts.items():
        SOURCE_ENTRIES.labels(outcome).inc(count)
    return poll


def _outcome(source: Source, answer: Fetched | FetchError, settings: Settings, now: datetime) -> Poll:
    def failed(message: str, retry_after: timedelta | None = None) -> Poll:
        source.failed(now, message, settings.backoff, retry_after)
        return Poll(source, "failed", message)

    if isinstance(answer, FetchError):
        return failed(str(answer))
    if answer.moved_to and answer.moved_to != source.url and not Source.get_or_none(Source.url == answer.moved_to):
        source.url = answer.moved_to  # moved permanently: poll the new address from now on
    if answer.status == 304:
        source.succeeded(now, "not modified (304)")
        return Poll(source, "not_modified", "not modified (304)")
    if answer.status in (429, 503):
        wait = f", asked to wait {int(answer.retry_after.total_seconds())} s" if answer.retry_after else ""
        return failed(f"HTTP {answer.status}{wait}", answer.retry_after)
    if answer.status != 200:
        return failed(f"HTTP {answer.status}")
    try:
        feed = parse_feed(answer.body, answer.url, answer.content_type)
    except FeedError as e:
        return failed(f"the response {e}")

    if not source.title and feed.title:
        source.title = shorten(feed.title, TITLE_LENGTH)
    poll = Poll(source, "fetched", "")
    drafts = drafts_for(source, feed, settings.zone, now, poll)
    for start in range(0, len(drafts), BATCH_SIZE):
        poll.counts.update(Article.store_many(drafts[start : start + BATCH_SIZE]))
    c = poll.counts
    poll.message = (
        f"{len(feed.entries)} entries: {c['imported']} new, {c['updated']} updated, {c['unchanged']} unchanged"
        + (f", {c['skipped']} withdrawn here" if c["skipped"] else "")
        + (f", {c['failed']} failed" if c["failed"] else "")
    )
    source.succeeded(now, poll.message, answer.etag, answer.last_modified)
    return poll


def drafts_for(source: Source, feed: ParsedFeed, zone: tzinfo, now: datetime, poll: Poll) -> list[Draft]:
    keyed: dict[str, Entry] = {}
    for entry in feed.entries:
        key = entry.guid or entry.link or hashlib.sha256((entry.title + entry.content).encode()).hexdigest()
        keyed.setdefault(article_id(source.name, key), entry)  # a guid repeated in one feed: the first wins
    known = {
        a.id: a
        for a in Article.select(Article.id, Article.published, Article.withdrawn).where(Article.id.in_(list(keyed)))
    }
    drafts = []
    for aid, entry in keyed.items():
        if aid in known and known[aid].withdrawn:
            poll.counts["skipped"] += 1  # withdrawn by an editor here: a poll never brings it back
            continue
        try:
            drafts.append(_draft(source, aid, entry, known.get(aid), zone, now))
        except PostError as e:
            poll.counts["failed"] += 1
            poll.failures.append((entry.link or entry.guid or aid, str(e)))
    return drafts


def _draft(source: Source, aid: str, entry: Entry, known: Article | None, zone: tzinfo, now: datetime) -> Draft:
    # An entry without a date keeps the one its first poll gave it, or a re-poll would move it.
    published = entry.published or entry.updated or (known.published if known else now)
    title = entry.title or shorten(plain_text(entry.content), TITLE_LENGTH)
    content = entry.content
    if not plain_text(content).strip() and entry.link and title:
        content = f'<p><a href="{html.escape(entry.link)}">{html.escape(title)}</a></p>'  # a link-only item
    meta = {
        "title": title,
        "date": published,
        "updated": entry.updated if entry.updated and entry.updated > published else None,
        "categories": [source.category],
        "tags": source.tag_names,
        "author": entry.author or None,
        "excerpt": entry.summary or None,
        "source_url": entry.link or None,  # checked like a post's: http(s) only, never javascript: or data:
    }
    draft = draft_from(meta, content, aid, zone, path=f"source:{source.name}", html_body=True)
    return replace(draft, id=aid, source_name=source.attribution)
