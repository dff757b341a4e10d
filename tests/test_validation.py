"""Every kind of feed, in every format, on every kind of page, checked against the formats' own rules:
feedparser reads it cleanly; Atom passes the RFC 4287 RELAX NG grammar and the MUSTs the grammar cannot
express; JSON Feed passes the JSON Feed 1.1 schema; RSS keeps the RSS 2.0 spec and the RSS Advisory
Board's practice. Each test fetches its document once and runs every check on it."""

import functools
import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urljoin

import feedparser
import pytest
from lxml import etree

from .conftest import SHARED, SITE_URL

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
NS = {"a": ATOM_NS, "fh": HISTORY_NS}
MIMETYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
MONTH = "2026-01"  # every fixture post is from January 2026

# The fixture articles by their share-page id, newest first.
DREDGING = "harbour-dredging-2026"  # harbour; ferries, works
BUDGET = "2026-01-13-hostile"  # harbour; budget
STORM = "2026-01-12-markdown-no-tz"  # weather
MARKET = "NW202601112030000002"  # harbour, culture; markets, 夜市, community
FERRY = "NW202601100900000001"  # harbour; ferries

# kind → (address without extension, query parameters, the articles it holds, newest first)
KINDS = {
    "site": ("/feed", {}, [DREDGING, BUDGET, STORM, MARKET, FERRY]),
    "category": ("/category/harbour", {}, [DREDGING, BUDGET, MARKET, FERRY]),
    "tag": ("/tag/ferries", {}, [DREDGING, FERRY]),
    "chinese-tag": ("/tag/%E5%A4%9C%E5%B8%82", {}, [MARKET]),  # 夜市
    "combined-tags": ("/tag/community+markets", {}, [MARKET]),
    "category-exclude": ("/category/harbour", {"exclude": "budget"}, [DREDGING, MARKET, FERRY]),
    "site-any": ("/feed", {"any": "ferries,markets"}, [DREDGING, MARKET, FERRY]),
}
PAGE_SIZE = 2  # the ?limit= of the paged documents ("limit2", and the pages its links lead to)
# first: the subscription document; limit2: its ?limit=2 form; next / last: the pages that form's links
# point to; archive: the month's archive (RFC 5005 §4); summary: ?content=summary.
XML_PAGES = ("first", "limit2", "next", "last", "archive", "summary")
JSON_PAGES = ("first", "limit2", "next", "archive", "summary")  # JSON Feed has only next_url


def cases(pages):
    return [
        pytest.param(kind, page, id=f"{kind}-{page}")
        for kind, (_, _, items) in KINDS.items()
        for page in pages
        if page != "next" or len(items) > PAGE_SIZE  # a next page exists only when there are more items
    ]


def address(kind: str, fmt: str, page: str) -> str:
    """The canonical address of a page (parameters in alphabetical order, as the server writes them)."""
    base, params, _ = KINDS[kind]
    params = dict(params)
    if page == "limit2":
        params["limit"] = str(PAGE_SIZE)
    if page == "summary":
        params["content"] = "summary"
    path = f"{base}/{MONTH}.{fmt}" if page == "archive" else f"{base}.{fmt}"
    return path + ("?" + urlencode(sorted(params.items()), safe=",") if params else "")


def expected_items(kind: str, page: str) -> list[str]:
    items = KINDS[kind][2]
    if page == "limit2":
        return items[:PAGE_SIZE]
    if page == "next":
        return items[PAGE_SIZE : 2 * PAGE_SIZE]
    if page == "last":
        return items[-PAGE_SIZE:]
    return items


def expects_next(kind: str, page: str) -> bool:
    """Whether the page has older items after it (and so a next link)."""
    count = len(KINDS[kind][2])
    return (page == "limit2" and count > PAGE_SIZE) or (page == "next" and count > 2 * PAGE_SIZE)


def get(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    return response


def link_in(data: bytes, fmt: str, rel: str) -> str | None:
    if fmt == "json":
        return json.loads(data).get("next_url") if rel == "next" else None
    root = etree.fromstring(data)
    parent = root if fmt == "atom" else root.find("channel")
    links = parent.findall(f"{{{ATOM_NS}}}link[@rel='{rel}']")
    assert len(links) <= 1, f"{len(links)} links rel={rel}"
    return links[0].get("href") if links else None


def fetch(client, kind: str, fmt: str, page: str) -> tuple[str, bytes]:
    """(the address requested, the document's bytes); next and last pages are reached by their links."""
    if page in ("next", "last"):
        href = link_in(get(client, address(kind, fmt, "limit2")).data, fmt, page)
        assert href, f"the ?limit={PAGE_SIZE} page of {kind} has no {page} link"
        assert href.startswith(SITE_URL + "/"), href
        path = href.removeprefix(SITE_URL)
    else:
        path = address(kind, fmt, page)
    response = get(client, path)
    assert response.mimetype == MIMETYPES[fmt]
    return path, response.data


def share_id(link: str) -> str:
    match = re.fullmatch(re.escape(SITE_URL) + r"/share/(.+)\.html", link)
    assert match, f"{link!r} is not a share page address"
    return match.group(1)


def check_items(links: list[str], kind: str, page: str) -> None:
    shown = [share_id(link) for link in links]
    expected = expected_items(kind, page)
    if page == "archive":  # RFC 5005 gives an archive no order
        shown, expected = sorted(shown), sorted(expected)
    assert shown == expected


def check_feedparser(data: bytes, kind: str, page: str) -> None:
    """The document as feed readers see it. (feedparser 6.0 reads RSS and Atom, not JSON Feed.)"""
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    check_items([entry.link for entry in parsed.entries], kind, page)


# -- XML: the prologue, the stylesheet, feed history -------------------------------------------------

PROLOGUE = re.compile(
    rb"""<\?xml version=(["'])1\.0\1 encoding=(["'])UTF-8\2\?>\s*"""
    rb"""<\?xml-stylesheet type="text/xsl" href="/static/feed\.xsl"\?>"""
)


def check_prologue(data: bytes) -> None:
    assert PROLOGUE.match(data), data[:160]


def check_history(parent, links: dict[str, list[str]], kind: str, fmt: str, page: str) -> None:
    """RFC 5005: archives say fh:archive and link the subscription document; nothing else says fh:archive."""
    archive = parent.findall("fh:archive", NS)
    if page == "archive":
        assert len(archive) == 1
        assert links.get("current") == [SITE_URL + address(kind, fmt, "first")]
    else:
        assert archive == [], "a subscription or paged document must not carry fh:archive"


def links_by_rel(parent) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for link in parent.findall("a:link", NS):
        links.setdefault(link.get("rel", "alternate"), []).append(link.get("href"))
    return links


def check_paging(links: dict[str, list[str]], path: str, kind: str, page: str) -> None:
    assert links.get("self") == [SITE_URL + path]
    assert ("next" in links) == expects_next(kind, page), links.get("next")
    for rel, hrefs in links.items():
        if rel not in ("alternate", "enclosure", "via"):
            assert len(hrefs) == 1, f"{len(hrefs)} links rel={rel}"


# -- Atom ------------------------------------------------------------------------------------------


@functools.cache
def atom_schema() -> etree.RelaxNG | None:
    path = SHARED / "schemas" / "atom.rng"
    return etree.RelaxNG(etree.parse(str(path))) if path.exists() else None


def check_atom_rules(feed) -> None:
    """RFC 4287's MUSTs that its (informative) grammar cannot express."""
    entries = feed.findall("a:entry", NS)
    # §4.1.1: a feed without an author needs one in every entry.
    if feed.find("a:author", NS) is None:
        for entry in entries:
            has_author = entry.find("a:author", NS) is not None or entry.find("a:source/a:author", NS) is not None
            assert has_author, f"neither the feed nor entry {entry.findtext('a:id', namespaces=NS)} has an author"
    # §4.1.1, §4.1.2: no two alternate links with the same type and hreflang; an entry has an alternate link
    # (required when it has no content; here always, so readers can open the article).
    for element in [feed, *entries]:
        alternates = [
            (link.get("type"), link.get("hreflang"))
            for link in element.findall("a:link", NS)
            if link.get("rel", "alternate") == "alternate"  # a link without rel is an alternate one
        ]
        assert len(alternates) == len(set(alternates)), f"alternate links repeat a type/hreflang: {alternates}"
        if element is not feed:
            assert alternates, f"entry {element.findtext('a:id', namespaces=NS)} has no alternate link"
    # §4.1.2: content with src (or Base64) needs a summary.
    for entry in entries:
        content = entry.find("a:content", NS)
        if content is not None and content.get("src"):
            assert entry.find("a:summary", NS) is not None
    # §4.2.6: ids are permanent and unique.
    ids = [feed.findtext("a:id", namespaces=NS)] + [e.findtext("a:id", namespaces=NS) for e in entries]
    assert all(ids) and len(ids) == len(set(ids)), ids


@pytest.mark.parametrize(("kind", "page"), cases(XML_PAGES))
def test_atom_document(client, good_posts, kind, page):
    path, data = fetch(client, kind, "atom", page)
    check_feedparser(data, kind, page)
    check_prologue(data)
    feed = etree.fromstring(data)
    assert feed.tag == f"{{{ATOM_NS}}}feed"
    links = links_by_rel(feed)
    check_paging(links, path, kind, page)
    check_history(feed, links, kind, "atom", page)
    check_atom_rules(feed)
    if page == "summary":
        assert feed.find("a:entry/a:content", NS) is None, "a summary feed carries no full content"
    schema = atom_schema()
    if schema is None:
        pytest.skip(f"RFC 4287 RELAX NG schema not found under {SHARED / 'schemas'} (set SYNDICATION_SHARED_DIR)")
    assert schema.validate(feed), schema.error_log


# -- RSS 2.0 ---------------------------------------------------------------------------------------

# RFC 822 date-time as RSS 2.0 writes it, with the four-digit year of RFC 1123.
RFC822 = re.compile(
    r"^(?:(?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|UT|GMT|[ECMP][SD]T)$"
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ITEM_SINGLETONS = ("title", "link", "description", "author", "comments", "guid", "pubDate", "source")


def check_rfc822(text: str | None, what: str) -> None:
    match = RFC822.match(text or "")
    assert match, f"{what} {text!r} is not an RFC 822 date-time with a four-digit year"
    if match.group("weekday"):
        assert WEEKDAYS[parsedate_to_datetime(text).weekday()] == match.group("weekday"), f"{what} {text!r}"


def check_rss_rules(rss, path: str) -> None:
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channels = rss.findall("channel")
    assert len(channels) == 1
    channel = channels[0]
    # Required channel elements, each once.
    for required in ("title", "link", "description"):
        assert len(channel.findall(required)) == 1, required
        assert (channel.findtext(required) or "").strip(), f"empty channel {required}"
    for single in ("language", "pubDate", "lastBuildDate", "ttl", "docs", "generator", "image"):
        assert len(channel.findall(single)) <= 1, single
    check_rfc822(channel.findtext("lastBuildDate"), "lastBuildDate")
    if channel.find("pubDate") is not None:
        check_rfc822(channel.findtext("pubDate"), "channel pubDate")
    ttl = channel.findtext("ttl")
    assert ttl is not None and re.fullmatch(r"\d+", ttl), f"ttl {ttl!r} is not a whole number of minutes"
    # RSS Advisory Board best practice: atom:link rel=self names the feed's own address and type.
    selves = channel.findall(f"{{{ATOM_NS}}}link[@rel='self']")
    assert len(selves) == 1
    assert selves[0].get("href") == SITE_URL + path
    assert selves[0].get("type") == "application/rss+xml"
    guids = []
    for item in channel.findall("item"):
        for single in ITEM_SINGLETONS:
            assert len(item.findall(single)) <= 1, single
        assert (item.findtext("title") or "").strip() or (item.findtext("description") or "").strip()
        check_rfc822(item.findtext("pubDate"), "item pubDate")
        guid = (item.findtext("guid") or "").strip()
        assert guid, "item without a guid"
        guids.append(guid)
        # RSS Advisory Board: one enclosure per item; url, length (bytes, 0 when unknown) and type required.
        enclosures = item.findall("enclosure")
        assert len(enclosures) <= 1
        for enclosure in enclosures:
            assert (enclosure.get("url") or "").startswith(("http://", "https://")), enclosure.attrib
            assert re.fullmatch(r"\d+", enclosure.get("length") or ""), enclosure.attrib
            assert re.fullmatch(r"[\w.+-]+/[\w.+-]+", enclosure.get("type") or ""), enclosure.attrib
        for source in item.findall("source"):
            assert source.get("url"), "source needs a url attribute"
    assert len(guids) == len(set(guids)), guids


@pytest.mark.parametrize(("kind", "page"), cases(XML_PAGES))
def test_rss_document(client, good_posts, kind, page):
    path, data = fetch(client, kind, "rss", page)
    check_feedparser(data, kind, page)
    check_prologue(data)
    rss = etree.fromstring(data)
    check_rss_rules(rss, path)
    channel = rss.find("channel")
    links = links_by_rel(channel)
    check_paging(links, path, kind, page)
    check_history(channel, links, kind, "rss", page)
    if page == "summary":
        assert channel.find("item/{http://purl.org/rss/1.0/modules/content/}encoded") is None


# -- JSON Feed 1.1 ---------------------------------------------------------------------------------


@functools.cache
def json_feed_validator():
    """A draft-04 validator for feed.json (JSON Feed 1.1), whose "feed-1#…" references reach feed-1.json
    (JSON Feed 1.0) through a registry; None when the schemas are not there."""
    from jsonschema.validators import validator_for
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    folder = SHARED / "schemas"
    if not (folder / "feed.json").exists() or not (folder / "feed-1.json").exists():
        return None
    feed = json.loads((folder / "feed.json").read_text(encoding="utf-8"))
    feed_1 = json.loads((folder / "feed-1.json").read_text(encoding="utf-8"))
    # "feed-1#/definitions/…" resolves against feed.json's id (https://json.schemastore.org/feed.json) to
    # https://json.schemastore.org/feed-1, which is feed-1.json's own id; the bare names serve a copy without ids.
    resources = {
        urljoin(feed.get("id", ""), "feed-1"): feed_1,
        "feed-1": feed_1,
        "feed-1.json": feed_1,
        feed.get("id") or "feed.json": feed,
    }
    registry = Registry().with_resources((uri, DRAFT4.create_resource(s)) for uri, s in resources.items())
    cls = validator_for(feed)
    cls.check_schema(feed)
    return cls(feed, registry=registry, format_checker=cls.FORMAT_CHECKER)


def check_json_rules(document: dict, path: str, kind: str, page: str) -> None:
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == SITE_URL + path
    assert document.get("home_page_url", "").startswith(SITE_URL + "/")
    assert ("next_url" in document) == expects_next(kind, page), document.get("next_url")
    ids = []
    for item in document["items"]:
        ids.append(item["id"])
        assert item["url"].startswith(SITE_URL + "/share/")
        published = datetime.fromisoformat(item["date_published"])  # RFC 3339
        assert published.utcoffset() is not None, f"date_published {item['date_published']} has no offset"
        if "date_modified" in item:
            assert datetime.fromisoformat(item["date_modified"]).utcoffset() is not None
        if page == "summary":
            assert item.get("content_text") and "content_html" not in item, item.keys()
        else:
            assert item.get("content_html"), f"item {item['id']} has no content_html"
    assert all(ids) and len(ids) == len(set(ids)), ids


@pytest.mark.parametrize(("kind", "page"), cases(JSON_PAGES))
def test_json_document(client, good_posts, kind, page):
    path, data = fetch(client, kind, "json", page)
    document = json.loads(data)
    check_items([item["url"] for item in document["items"]], kind, page)
    check_json_rules(document, path, kind, page)
    validator = json_feed_validator()
    if validator is None:
        pytest.skip(f"JSON Feed schemas feed.json, feed-1.json not found under {SHARED / 'schemas'}")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors


# -- the stylesheet --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize("kind", ["site", "chinese-tag", "category-exclude"])
def test_the_stylesheet_shows_a_feed_as_a_page(client, good_posts, kind, fmt):
    with client.get("/static/feed.xsl") as stylesheet:  # a file response: close it
        assert stylesheet.status_code == 200
        # Browsers apply an XSLT stylesheet only when it comes with an XML media type.
        assert stylesheet.mimetype in ("application/xslt+xml", "text/xsl", "application/xml", "text/xml")
        transform = etree.XSLT(etree.fromstring(stylesheet.data))
    path = address(kind, fmt, "first")
    feed = etree.fromstring(get(client, path).data)
    if fmt == "rss":
        titles = [item.findtext("title") for item in feed.iterfind("channel/item")]
    else:
        titles = [entry.findtext("a:title", namespaces=NS) for entry in feed.iterfind("a:entry", NS)]
    assert len(titles) == len(KINDS[kind][2])

    page = transform(feed)
    assert not transform.error_log, transform.error_log
    html = page.getroot()
    assert html is not None and html.tag == "html"
    listed = [a.text for a in html.iterfind(".//ol[@class='items']/li/a")]
    assert listed == titles
    assert SITE_URL + path in [code.text for code in html.iter("code")], "the page does not show the feed's address"
