"""The site as the outside world sees it: its public address, title, language and zone, and its URLs.

Every public address (DESIGN.md, "URL contract") is spelled here and nowhere else.
"""

import math
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import current_app, request


@dataclass(frozen=True)
class Site:
    base_url: str  # scheme://host[/prefix], no trailing slash
    title: str
    description: str
    language: str
    zone: ZoneInfo
    max_age: int

    @property
    def ttl_minutes(self) -> int:
        """RSS <ttl> is in minutes: the cache lifetime, rounded up so readers never poll early."""
        return max(1, math.ceil(self.max_age / 60))

    @property
    def update_hint(self) -> tuple[str, int]:
        """The RSS syndication module's (updatePeriod, updateFrequency): the same interval as max-age
        (settings only allow max-ages that divide an hour or a day)."""
        if self.max_age <= 3600:
            return "hourly", max(1, 3600 // max(self.max_age, 1))
        return "daily", max(1, 86400 // self.max_age)

    def url(self, path: str) -> str:
        return self.base_url + path


def current_site() -> Site:
    config = current_app.config
    base = config["SYNDICATION_SITE_URL"] or request.url_root
    return Site(
        base_url=base.rstrip("/"),
        title=config["SYNDICATION_SITE_TITLE"],
        description=config["SYNDICATION_SITE_DESCRIPTION"],
        language=config["SYNDICATION_LANGUAGE"],
        zone=ZoneInfo(config["SYNDICATION_TIMEZONE"]),
        max_age=config["SYNDICATION_CACHE_MAX_AGE"],
    )


FEED_FORMATS = ("rss", "atom")


def _segment(name: str) -> str:
    # Tags may be Chinese: the address carries them as percent-encoded UTF-8.
    return quote(name, safe="")


def home_path() -> str:
    return "/"


def opml_path() -> str:
    return "/feeds.opml"


def share_path(article_id: str) -> str:
    return f"/share/{_segment(article_id)}.html"


def base_path(kind: str, names: tuple[str, ...]) -> str:
    """A feed's address without extension or parameters: '/feed', '/category/x', '/tag/a+b'."""
    if kind == "site":
        return "/feed"
    if kind == "category":
        return "/category/" + _segment(names[0])
    return "/tag/" + "+".join(_segment(n) for n in names)


def feed_path(kind: str, names: tuple[str, ...], fmt: str, query: str = "") -> str:
    return f"{base_path(kind, names)}.{fmt}{query}"


def archive_path(kind: str, names: tuple[str, ...], period: object, fmt: str, query: str = "") -> str:
    """An archive document (RFC 5005 §4): period is a month (2026-03), a day (2026-03-05) or a part of a
    day (2026-03-05/2), as syndication.feeds spells them."""
    return f"{base_path(kind, names)}/{period}.{fmt}{query}"


def page_path(kind: str, names: tuple[str, ...], query: str = "") -> str:
    """The HTML page of a feed: the home page for the site's."""
    return (home_path() if kind == "site" else f"{base_path(kind, names)}.html") + query


def site_feed_path(fmt: str) -> str:
    return feed_path("site", (), fmt)


def category_path(slug: str, fmt: str = "html") -> str:
    return feed_path("category", (slug,), fmt)


def tag_path(name: str, fmt: str = "html") -> str:
    return feed_path("tag", (name,), fmt)
