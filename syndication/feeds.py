"""Which feeds exist and what they hold: declared, as in Django's syndication framework.

A feed definition knows neither HTTP nor XML. It names its title, its addresses and its items, and
answers the item hooks; syndication.render turns a page of it into RSS, Atom or JSON Feed,
syndication.views into HTTP. Every feed is a paged feed (RFC 5005 §3, pages keyed by a cursor so they do
not shift when articles arrive) with archives (RFC 5005 §4) by month, or by day in a month too busy for
one document, or in numbered parts of a day too busy for one.
"""

import mimetypes
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.exceptions import NotFound

from models import Article, Category, Cursor, Selection, Tag

from . import site as urls
from .content import absolute_url, absolutize
from .site import Site

# Ids are derived from the article id alone (DESIGN.md, "Article identity"): never from the title,
# the date or the host name, so a reader never sees an item twice. Do not change this namespace.
ID_NAMESPACE = uuid.UUID("8c48030f-4405-50c1-8ed6-14d9103b93ce")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FORMATS = ("rss", "atom", "json")
EVERYTHING = Selection()
_IMAGE = re.compile(r'<img\b[^>]*\ssrc="([^"]+)"')


def article_guid(article_id: str) -> str:
    return uuid.uuid5(ID_NAMESPACE, f"article:{article_id}").urn


@dataclass(frozen=True)
class ItemCategory:
    term: str
    label: str
    scheme: str  # the address under which terms of this kind live


@dataclass(frozen=True)
class Media:
    url: str
    mime_type: str
    length: int | None  # bytes, when the file is on this server's disk


@dataclass
class Page:
    """One document of a feed: its items, and the links that tie it to the others."""

    items: list[Article]
    links: dict[str, str]  # relation → absolute address: self, alternate, first, next, current, …
    archive: bool = False  # RFC 5005 §4: a complete, unchanging archive document
    tombstones: list[Article] = field(default_factory=list)  # RFC 6721, Atom only


# Archive periods (RFC 5005 §4): a month; a day, where its month holds more articles than one archive
# document may (SYNDICATION_ARCHIVE_MAX_ITEMS); a numbered part of a day, where the day does too.
# Periods are in the site's zone. Years run as far as a post's date may (syndication/posts.py).
FIRST_YEAR, LAST_YEAR = 1000, 9999
# The end of time as far as articles go: later than any date a post may have (posts.py stops at
# 9999-12-30 UTC), and still a datetime in every zone (midnight after 9999-12-31 is not).
_END_OF_TIME = datetime(9999, 12, 31, 12, tzinfo=UTC)
_PART_DIGITS = 6


def _midnight(day: date, zone) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _year(text: str, period: str) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise NotFound(f"{period!r}: archives run from the year {FIRST_YEAR} to {LAST_YEAR}.")
    return year


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        m = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise NotFound(f"{text!r} is not an archive month (YYYY-MM).")
        return cls(_year(m.group(1), text), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def start(self, zone) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone)

    def end(self, zone) -> datetime:
        if (self.year, self.month) == (LAST_YEAR, 12):
            return _END_OF_TIME
        following = Month(self.year + self.month // 12, self.month % 12 + 1)
        return following.start(zone)

    @classmethod
    def of(cls, moment: datetime, zone) -> "Month":
        local = moment.astimezone(zone)
        return cls(local.year, local.month)


@dataclass(frozen=True)
class Day:
    date: date

    @classmethod
    def parse(cls, text: str) -> "Day":
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if not m:
            raise NotFound(f"{text!r} is not an archive day (YYYY-MM-DD).")
        try:
            return cls(date(_year(m.group(1), text), int(m.group(2)), int(m.group(3))))
        except ValueError as e:  # 2026-02-30: "day is out of range for month"
            raise NotFound(f"{text!r} is not an archive day: {e}.") from None

    def __str__(self) -> str:
        return self.date.isoformat()

    def start(self, zone) -> datetime:
        return _midnight(self.date, zone)

    def end(self, zone) -> datetime:
        if self.date == date.max:
            return _END_OF_TIME
        return _midnight(self.date + timedelta(days=1), zone)

    @classmethod
    def of(cls, moment: datetime, zone) -> "Day":
        return cls(moment.astimezone(zone).date())


@dataclass(frozen=True)
class Part:
    """One of the documents a day too busy for one is archived in: part 1 holds its oldest articles."""

    day: Day
    number: int

    @classmethod
    def parse(cls, day: str, number: str) -> "Part":
        if not re.fullmatch(rf"[1-9]\d{{0,{_PART_DIGITS - 1}}}", number):
            raise NotFound(f"{number!r} is not a part of a day's archive (1, 2, 3, …).")
        return cls(Day.parse(day), int(number))

    def __str__(self) -> str:
        return f"{self.day}/{self.number}"

    def start(self, zone) -> datetime:
        return self.day.start(zone)

    def end(self, zone) -> datetime:
        return self.day.end(zone)


Period = Month | Day | Part


def month_of(period: Period) -> Month:
    day = period.day if isinstance(period, Part) else period
    return Month(day.date.year, day.date.month) if isinstance(day, Day) else day


def parse_period(text: str) -> Period:
    """The period an archive address names: 2026-03, 2026-03-05 or 2026-03-05/2 (404 with the reason)."""
    day, slash, number = text.partition("/")
    if slash:
        return Part.parse(day, number)
    if re.fullmatch(r"\d+-\d+-\d+", text):
        return Day.parse(text)
    return Month.parse(text)


class Split(Exception):
    """A period whose archive is not one document (it holds more articles than one may): its articles
    are in `first` and in the documents that follow it by next-archive."""

    def __init__(self, period: Period, first: Period, reason: str):
        super().__init__(reason)
        self.period, self.first, self.reason = period, first, reason


def canonical_query(kind: str, selection: Selection, content: str = "", **extra: str) -> str:
    """The canonical query string: names in alphabetical order, lists sorted, defaults left out
    (`content` is given only when it is not the feed's default)."""
    params = {
        "any": ",".join(selection.any_tags),
        "exclude": ",".join(selection.exclude),
        "tag": ",".join(selection.all_tags) if kind == "category" else "",
        "content": content,
        **extra,
    }
    return "?" + urlencode(sorted((k, v) for k, v in params.items() if v), safe=",~") if any(params.values()) else ""


class Feed:
    """A feed of articles: a selection of them, in full or summary. Subclasses name it."""

    kind: str = ""

    def __init__(
        self,
        site: Site,
        names: tuple[str, ...] = (),
        selection: Selection = EVERYTHING,
        content: str = "full",
        media_root: str = "",
        default_content: str = "full",
    ):
        self.site = site
        self.names = names
        self.selection = selection
        self.content = content  # what the items carry: "full" or "summary"
        self.default_content = default_content  # what they carry when the address does not say
        self.media_root = media_root

    # -- feed hooks ------------------------------------------------------------------------------

    def title(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define title()")

    def description(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define description()")

    def page_path(self) -> str:
        return urls.page_path(self.kind, self.names)

    def key(self) -> str:
        """What distinguishes this feed from the others of its kind ('' for the site feed)."""
        return "+".join(self.names)

    def query(self, **extra: str) -> str:
        shown = self.content if self.content != self.default_content else ""
        return canonical_query(self.kind, self.selection, shown, **extra)

    def feed_path(self, fmt: str, **extra: str) -> str:
        return urls.feed_path(self.kind, self.names, fmt, self.query(**extra))

    def archive_path(self, period: Period, fmt: str) -> str:
        return urls.archive_path(self.kind, self.names, period, fmt, self.query())

    def feed_id(self) -> str:
        # RFC 4287 §4.2.6: permanent and universally unique; like item ids, free of the host name.
        filters = canonical_query(self.kind, self.selection)
        return uuid.uuid5(ID_NAMESPACE, f"feed:{self.kind}:{self.key()}{filters}").urn

    def items(self, limit: int, before: Cursor | None = None, after: Cursor | None = None, **bounds):
        return Article.listing(self.selection, limit, before=before, after=after, **bounds)

    def count(self, period: Period, cap: int = 0) -> int:
        """How many articles the period holds (counting stops at `cap`, when given)."""
        zone = self.site.zone
        return Article.count(self.selection, since=period.start(zone), until=period.end(zone), cap=cap)

    def cursor_at(self, period: Period, position: int) -> Cursor | None:
        """The cursor of the period's article at `position`, oldest first (None: there are not so many)."""
        zone = self.site.zone
        return Article.cursor_at(self.selection, position, since=period.start(zone), until=period.end(zone))

    def updated(self, items: list[Article]) -> datetime:
        """The newest change among the items: the feed's own update time."""
        return max((a.updated for a in items), default=EPOCH)

    # -- item hooks ------------------------------------------------------------------------------

    def item_guid(self, article: Article) -> str:
        return article_guid(article.id)

    def item_title(self, article: Article) -> str:
        return article.title

    def item_link(self, article: Article) -> str:
        return self.site.url(urls.share_path(article.id))

    def item_published(self, article: Article) -> datetime:
        return article.published.astimezone(self.site.zone)

    def item_updated(self, article: Article) -> datetime:
        return article.updated.astimezone(self.site.zone)

    def item_summary(self, article: Article) -> str:
        return article.summary

    def item_content(self, article: Article) -> str | None:
        """The full body, or None for a summary-only feed."""
        return absolutize(article.body, self.site.base_url) if self.content == "full" else None

    def item_author(self, article: Article) -> str:
        return article.author

    def item_source(self, article: Article) -> tuple[str, str] | None:
        """(publication name, original address) of a republished article."""
        if article.source_url:
            return article.source_name or article.source_url, article.source_url
        return None

    def item_media(self, article: Article) -> list[Media]:
        """The article's images, the first one first (it is also the article's image)."""
        sources = [article.image] if article.image else []
        sources += [src for src in _IMAGE.findall(article.body) if src not in sources]
        return [self._media(src) for src in sources]

    def _media(self, src: str) -> Media:
        url = absolute_url(src, self.site.base_url)
        mime_type = mimetypes.guess_type(url.split("?")[0])[0] or "image/jpeg"
        length = None
        if self.media_root and src.startswith("/") and not src.startswith("//"):
            # A site-relative file under the media root: its size is known (RSS enclosure length).
            path = Path(self.media_root, src.lstrip("/").split("?")[0]).resolve()
            if Path(self.media_root).resolve() in path.parents and path.is_file():
                length = path.stat().st_size
        return Media(url, mime_type, length)

    def item_categories(self, article: Article) -> list[ItemCategory]:
        category_scheme = self.site.url("/category/")
        tag_scheme = self.site.url("/tag/")
        return [ItemCategory(c.slug, c.name, category_scheme) for c in article.categories] + [
            ItemCategory(t, t, tag_scheme) for t in article.tags
        ]


class SiteFeed(Feed):
    kind = "site"

    def title(self) -> str:
        return self.site.title + _narrowed(self.selection)

    def description(self) -> str:
        return self.site.description


class CategoryFeed(Feed):
    kind = "category"

    def __init__(self, site: Site, category: Category, selection: Selection | None = None, **options):
        super().__init__(site, (category.slug,), selection or Selection(category=category.slug), **options)
        self.category = category

    def title(self) -> str:
        return f"{self.category.name}{_narrowed(self.selection)} · {self.site.title}"

    def description(self) -> str:
        return f"Articles filed under {self.category.name}."


class TagFeed(Feed):
    """One tag, or several at once (`/tag/a+b`: articles with all of them)."""

    kind = "tag"

    def __init__(self, site: Site, tags: list[Tag], selection: Selection | None = None, **options):
        names = tuple(t.name for t in tags)
        super().__init__(site, names, selection or Selection(all_tags=names), **options)

    def title(self) -> str:
        return f"{' + '.join('#' + n for n in self.names)}{_narrowed(self.selection)} · {self.site.title}"

    def description(self) -> str:
        return f"Articles tagged {' and '.join(self.names)}."


def _narrowed(selection: Selection) -> str:
    parts = [f"any of {', '.join(selection.any_tags)}"] if selection.any_tags else []
    if selection.exclude:
        parts.append(f"without {', '.join(selection.exclude)}")
    if selection.category and selection.all_tags:
        parts.insert(0, f"tagged {', '.join(selection.all_tags)}")
    return f" ({'; '.join(parts)})" if parts else ""


# -- lookups ---------------------------------------------------------------------------------------


def site_feed(site: Site, selection: Selection = EVERYTHING, **options) -> SiteFeed:
    return SiteFeed(site, (), selection, **options)


def category_feed(site: Site, slug: str, selection: Selection | None = None, **options) -> CategoryFeed:
    category = Category.find(slug)
    if category is None:
        raise NotFound(f"There is no category {slug!r}.")
    return CategoryFeed(site, category, selection, **options)


def tag_feed(site: Site, names: tuple[str, ...], selection: Selection | None = None, **options) -> TagFeed:
    tags = []
    for name in names:
        tag = Tag.find(name)
        if tag is None:
            raise NotFound(f"There is no tag {name!r}.")
        tags.append(tag)
    return TagFeed(site, tags, selection, **options)


def all_feeds(site: Site) -> list[Feed]:
    """Every plain feed there is, in OPML order: the site, each category, each tag."""
    return (
        [SiteFeed(site)]
        + [CategoryFeed(site, c) for c in Category.all_by_name()]
        + [TagFeed(site, [t]) for t in Tag.all_by_name()]
    )


# -- documents -------------------------------------------------------------------------------------


def feed_page(
    feed: Feed,
    fmt: str,
    limit: int,
    default_limit: int,
    before: Cursor | None = None,
    after: Cursor | None = None,
    tombstone_days: int = 30,
    archive_max_items: int = 500,
) -> Page:
    """A page of the feed (RFC 5005 §3): the first (the subscription document) unless a cursor says
    otherwise, with first/last/next/previous links, and the newest archive document."""
    site = feed.site
    fetched = feed.items(limit + 1, before=before, after=after)
    if after:
        newer, items = len(fetched) > limit, fetched[-limit:]
        older = bool(items) and bool(feed.items(1, before=items[-1].cursor, bare=True))
    else:
        items, older = fetched[:limit], len(fetched) > limit
        newer = before is not None and bool(items) and bool(feed.items(1, after=items[0].cursor, bare=True))
    paging = {"limit": str(limit)} if limit != default_limit else {}
    cursor = {"before": before.encode()} if before else {"after": after.encode()} if after else {}
    links = {
        "self": site.url(feed.feed_path(fmt, **paging, **cursor)),
        "alternate": site.url(feed.page_path()),
        "first": site.url(feed.feed_path(fmt, **paging)),
        "last": site.url(feed.feed_path(fmt, **paging, after=Cursor(EPOCH, "").encode())),
    }
    if items and older:
        links["next"] = site.url(feed.feed_path(fmt, **paging, before=items[-1].cursor.encode()))
    if items and newer:
        links["previous"] = site.url(feed.feed_path(fmt, **paging, after=items[0].cursor.encode()))
    newest = items[:1] if before is None and after is None else feed.items(1, bare=True)
    if newest:  # RFC 5005 §4: the subscription document points into the archives
        month = Month.of(newest[0].published, site.zone)
        start = month.start(site.zone)
        # The first page often holds the newest month whole: then it tells its size, with no count.
        whole = before is None and after is None and (not older or fetched[-1].published < start)
        if whole and sum(a.published >= start for a in fetched) <= archive_max_items:
            archive = month
        else:
            archive = archive_holding(feed, newest[0].published, archive_max_items, newest=True)
        links["prev-archive"] = site.url(feed.archive_path(archive, fmt))
    tombstones = []
    if fmt == "atom" and before is None and after is None:
        since = datetime.now(UTC) - timedelta(days=tombstone_days)
        tombstones = Article.withdrawn_since(feed.selection, since)
    return Page(items, links, tombstones=tombstones)


def archive_holding(feed: Feed, moment: datetime, max_items: int, newest: bool, inside: Month | None = None) -> Period:
    """The archive document that holds the article published at `moment`, the newest (or the oldest,
    newest=False) of its period: its month, unless the month holds more than `max_items` articles, then
    its day, unless the day does too, then the day's last (first) part. `inside`: a month whose days are
    the documents whatever its size (the asking document is one of its days). Counts stop at max_items + 1,
    but for the number of parts of a busy day (a count over that day's range of the index)."""
    zone = feed.site.zone
    month = Month.of(moment, zone)
    if month != inside and feed.count(month, cap=max_items + 1) <= max_items:
        return month
    day = Day.of(moment, zone)
    held = feed.count(day) if newest else feed.count(day, cap=max_items + 1)
    if held <= max_items:
        return day
    return Part(day, -(-held // max_items) if newest else 1)


def archive_page(feed: Feed, fmt: str, period: Period, max_items: int) -> Page:
    """The archive of one period (RFC 5005 §4), linked to the documents of its neighbours that hold
    articles, each at the granularity its own month needs. A month or a day with more than `max_items`
    articles raises Split (its articles are archived in smaller documents); so does a part of a day that
    needs none (the day's one document is its archive); a part past the day's last is NotFound. No more
    than max_items + 1 articles are read."""
    site = feed.site
    zone = site.zone
    start, end = period.start(zone), period.end(zone)
    month = month_of(period)
    whole = period.day if isinstance(period, Part) else period  # the period as one document
    busy = feed.count(whole, cap=max_items + 1) > max_items
    newest_cursor = None  # a part's newest article: the next part begins after it
    if isinstance(period, Part):
        if not busy:
            raise Split(period, whole, f"{whole} holds no more than {max_items} articles: its archive is one document.")
        after = Cursor(start, "") if period.number == 1 else feed.cursor_at(whole, (period.number - 1) * max_items - 1)
        items = feed.items(max_items, after=after, until=end) if after else []
        if not items:
            parts = -(-feed.count(whole) // max_items)
            raise NotFound(f"The archive of {whole} has {parts} parts, not {period.number}.")
        newest_cursor = items[0].cursor
    else:
        # max_items + 1: an article that arrived since the count is noticed, not cut off
        items = [] if busy else feed.items(max_items + 1, since=start, until=end)
        if busy or len(items) > max_items:
            oldest = feed.items(1, after=Cursor(start, ""), until=end, bare=True)[0]
            first = archive_holding(feed, oldest.published, max_items, newest=False, inside=month)
            granularity = "day" if isinstance(period, Month) else "part"
            raise Split(
                period,
                first,
                f"{period} holds more than {max_items} articles: its archive is split by {granularity}, "
                f"from {first} on (each links the next by next-archive).",
            )
    links = {
        "self": site.url(feed.archive_path(period, fmt)),
        "current": site.url(feed.feed_path(fmt)),
        "alternate": site.url(feed.page_path()),
    }
    if isinstance(period, Part) and period.number > 1:
        links["prev-archive"] = site.url(feed.archive_path(Part(whole, period.number - 1), fmt))
    elif earlier := feed.items(1, before=Cursor(start, ""), bare=True):
        previous = archive_holding(feed, earlier[0].published, max_items, newest=True, inside=month)
        links["prev-archive"] = site.url(feed.archive_path(previous, fmt))
    if newest_cursor and feed.items(1, after=newest_cursor, until=end, bare=True):
        links["next-archive"] = site.url(feed.archive_path(Part(whole, period.number + 1), fmt))
    elif later := feed.items(1, after=Cursor(end, ""), bare=True):
        following = archive_holding(feed, later[0].published, max_items, newest=False, inside=month)
        links["next-archive"] = site.url(feed.archive_path(following, fmt))
    return Page(items, links, archive=True)
