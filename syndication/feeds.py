"""Which feeds exist and what they hold: declared, as in Django's syndication framework.

A feed definition knows neither HTTP nor XML. It names its title, its addresses and its items, and
answers the item hooks; syndication.render turns that into RSS or Atom, syndication.views into HTTP.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.exceptions import NotFound

from models import Article, Category, Cursor, Tag

from . import site as urls
from .content import absolute_url, absolutize
from .site import Site

# Ids are derived from the article id alone (DESIGN.md, "Article identity"): never from the title,
# the date or the host name, so a reader never sees an item twice. Do not change this namespace.
ID_NAMESPACE = uuid.UUID("8c48030f-4405-50c1-8ed6-14d9103b93ce")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def article_guid(article_id: str) -> str:
    return uuid.uuid5(ID_NAMESPACE, f"article:{article_id}").urn


@dataclass(frozen=True)
class ItemCategory:
    term: str
    label: str
    scheme: str  # the address under which terms of this kind live


class Feed:
    """A feed of articles. Subclasses define the feed-level hooks; the item hooks are shared."""

    kind: str = ""

    def __init__(self, site: Site):
        self.site = site

    # -- feed hooks ------------------------------------------------------------------------------

    def title(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define title()")

    def description(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define description()")

    def page_path(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define page_path(), its HTML page")

    def feed_path(self, fmt: str) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define feed_path(fmt)")

    def key(self) -> str:
        """What distinguishes this feed from the others of its kind ('' for the site feed)."""
        return ""

    def items(self, limit: int, before: Cursor | None = None) -> list[Article]:
        raise NotImplementedError(f"{type(self).__name__} must define items(limit, before)")

    def feed_id(self) -> str:
        # RFC 4287 §4.2.6: permanent and universally unique; like item ids, free of the host name.
        return uuid.uuid5(ID_NAMESPACE, f"feed:{self.kind}:{self.key()}").urn

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

    def item_content(self, article: Article) -> str:
        return absolutize(article.body, self.site.base_url)

    def item_author(self, article: Article) -> str:
        return article.author

    def item_source(self, article: Article) -> tuple[str, str] | None:
        """(publication name, original address) of a republished article."""
        if article.source_url:
            return article.source_name or article.source_url, article.source_url
        return None

    def item_image(self, article: Article) -> str:
        return absolute_url(article.image, self.site.base_url) if article.image else ""

    def item_categories(self, article: Article) -> list[ItemCategory]:
        category_scheme = self.site.url("/category/")
        tag_scheme = self.site.url("/tag/")
        return [ItemCategory(c.slug, c.name, category_scheme) for c in article.categories] + [
            ItemCategory(t, t, tag_scheme) for t in article.tags
        ]


class SiteFeed(Feed):
    kind = "site"

    def title(self) -> str:
        return self.site.title

    def description(self) -> str:
        return self.site.description

    def page_path(self) -> str:
        return urls.home_path()

    def feed_path(self, fmt: str) -> str:
        return urls.site_feed_path(fmt)

    def items(self, limit, before=None):
        return Article.latest(limit, before)


class CategoryFeed(Feed):
    kind = "category"

    def __init__(self, site: Site, category: Category):
        super().__init__(site)
        self.category = category

    def key(self) -> str:
        return self.category.slug

    def title(self) -> str:
        return f"{self.category.name} · {self.site.title}"

    def description(self) -> str:
        return f"Articles filed under {self.category.name}."

    def page_path(self) -> str:
        return urls.category_path(self.category.slug)

    def feed_path(self, fmt: str) -> str:
        return urls.category_path(self.category.slug, fmt)

    def items(self, limit, before=None):
        return Article.in_category(self.category.slug, limit, before)


class TagFeed(Feed):
    kind = "tag"

    def __init__(self, site: Site, tag: Tag):
        super().__init__(site)
        self.tag = tag

    def key(self) -> str:
        return self.tag.name

    def title(self) -> str:
        return f"#{self.tag.name} · {self.site.title}"

    def description(self) -> str:
        return f"Articles tagged {self.tag.name}."

    def page_path(self) -> str:
        return urls.tag_path(self.tag.name)

    def feed_path(self, fmt: str) -> str:
        return urls.tag_path(self.tag.name, fmt)

    def items(self, limit, before=None):
        return Article.with_tag(self.tag.name, limit, before)


def site_feed(site: Site) -> SiteFeed:
    return SiteFeed(site)


def category_feed(site: Site, slug: str) -> CategoryFeed:
    category = Category.find(slug)
    if category is None:
        raise NotFound(f"There is no category {slug!r}.")
    return CategoryFeed(site, category)


def tag_feed(site: Site, name: str) -> TagFeed:
    tag = Tag.find(name)
    if tag is None:
        raise NotFound(f"There is no tag {name!r}.")
    return TagFeed(site, tag)


def all_feeds(site: Site) -> list[Feed]:
    """Every feed there is, in OPML order: the site, each category, each tag."""
    return (
        [SiteFeed(site)]
        + [CategoryFeed(site, c) for c in Category.all_by_name()]
        + [TagFeed(site, t) for t in Tag.all_by_name()]
    )
