"""/feeds.opml: the OPML 2.0 subscription list of every feed, as a feed reader imports it."""

import re
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import listparser
import pytest
from lxml import etree

from .conftest import SITE_URL

# (feed address without its format suffix, HTML page, group)
FEEDS = [
    (f"{SITE_URL}/feed", f"{SITE_URL}/", "Site"),
    (f"{SITE_URL}/category/harbour", f"{SITE_URL}/category/harbour.html", "Categories"),
    (f"{SITE_URL}/category/culture", f"{SITE_URL}/category/culture.html", "Categories"),
    (f"{SITE_URL}/category/weather", f"{SITE_URL}/category/weather.html", "Categories"),
    (f"{SITE_URL}/tag/ferries", f"{SITE_URL}/tag/ferries.html", "Tags"),
    (f"{SITE_URL}/tag/markets", f"{SITE_URL}/tag/markets.html", "Tags"),
    (f"{SITE_URL}/tag/%E5%A4%9C%E5%B8%82", f"{SITE_URL}/tag/%E5%A4%9C%E5%B8%82.html", "Tags"),  # 夜市
    (f"{SITE_URL}/tag/community", f"{SITE_URL}/tag/community.html", "Tags"),
    (f"{SITE_URL}/tag/budget", f"{SITE_URL}/tag/budget.html", "Tags"),
    (f"{SITE_URL}/tag/works", f"{SITE_URL}/tag/works.html", "Tags"),
]
# RFC 822 date-time, with the four-digit year of RFC 1123: "Wed, 14 Jan 2026 08:00:00 +0800".
RFC822 = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|UT|GMT|[ECMP][SD]T|Z)$"
)
# The newest change among the fixture posts: the dredging post, 2026-01-14 08:00 +0800.
NEWEST_UPDATE = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)


def get_opml(client, query: str = ""):
    response = client.get("/feeds.opml" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/x-opml; charset=utf-8"
    return response


def test_opml_is_a_well_formed_subscription_list(client, good_posts):
    result = listparser.parse(get_opml(client).data)
    assert not result.bozo, result.get("bozo_exception")
    assert result.meta.title


def test_opml_is_version_2(client, good_posts):
    root = etree.fromstring(get_opml(client).data)
    assert root.tag == "opml"
    assert root.get("version") == "2.0"
    assert root.find("head") is not None
    assert root.find("body") is not None


def test_opml_lists_every_feed_exactly_once(client, good_posts):
    result = listparser.parse(get_opml(client).data)
    urls = Counter(feed.url for feed in result.feeds)
    assert urls == Counter(f"{base}.rss" for base, _, _ in FEEDS)
    for feed in result.feeds:
        assert feed.title.strip(), feed.url


def test_opml_feed_titles_name_what_they_follow(client, good_posts):
    result = listparser.parse(get_opml(client).data)
    titles = {feed.url: feed.title for feed in result.feeds}
    assert "Harbour Gazette" in titles[f"{SITE_URL}/feed.rss"]
    assert "港口新闻" in titles[f"{SITE_URL}/category/harbour.rss"]
    assert "夜市" in titles[f"{SITE_URL}/tag/%E5%A4%9C%E5%B8%82.rss"]
    assert "works" in titles[f"{SITE_URL}/tag/works.rss"]


def test_opml_groups_feeds_by_kind(client, good_posts):
    result = listparser.parse(get_opml(client).data)
    groups = {feed.url: feed.categories for feed in result.feeds}
    assert groups == {f"{base}.rss": [[group]] for base, _, group in FEEDS}
    root = etree.fromstring(get_opml(client).data)
    assert [o.get("text") for o in root.findall("body/outline")] == ["Site", "Categories", "Tags"]


def test_opml_outlines_link_to_their_html_pages(client, good_posts):
    root = etree.fromstring(get_opml(client).data)
    feeds = root.xpath("//outline[@xmlUrl]")
    assert len(feeds) == len(FEEDS)
    pages = {o.get("xmlUrl"): o.get("htmlUrl") for o in feeds}
    assert pages == {f"{base}.rss": page for base, page, _ in FEEDS}
    for outline in feeds:
        assert outline.get("type") == "rss"
        assert outline.get("text")


def test_opml_head_dates_are_rfc_822(client, good_posts):
    root = etree.fromstring(get_opml(client).data)
    created = root.findtext("head/dateCreated")
    modified = root.findtext("head/dateModified")
    assert created and RFC822.match(created), created
    assert modified and RFC822.match(modified), modified
    assert parsedate_to_datetime(modified) == NEWEST_UPDATE
    assert parsedate_to_datetime(created) <= parsedate_to_datetime(modified)


def test_opml_lists_atom_addresses_on_request(client, good_posts):
    result = listparser.parse(get_opml(client, "?format=atom").data)
    assert not result.bozo, result.get("bozo_exception")
    urls = Counter(feed.url for feed in result.feeds)
    assert urls == Counter(f"{base}.atom" for base, _, _ in FEEDS)


@pytest.mark.parametrize("fmt", ["xml", "opml"])
def test_opml_rejects_an_unknown_format(client, good_posts, fmt):
    response = client.get(f"/feeds.opml?format={fmt}")
    assert response.status_code == 400
    assert "format" in response.get_data(as_text=True)
