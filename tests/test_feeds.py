"""RSS 2.0 and Atom 1.0 feeds, read back the way feed readers read them."""

import re

import feedparser
import pytest
from lxml import etree

from .conftest import FIXTURES, SHARED, fresh_schema, import_paths, make_app

NEWEST_FIRST = [
    "harbour-dredging-2026",
    "2026-01-13-hostile",
    "2026-01-12-markdown-no-tz",
    "NW202601112030000002",
    "NW202601100900000001",
]
FEEDS = ["/feed.{}", "/category/harbour.{}", "/tag/ferries.{}", "/tag/%E5%A4%9C%E5%B8%82.{}"]


def parse(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.data
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.bozo_exception
    return response, feed


def share_ids(feed):
    return [re.search(r"/share/(.+)\.html$", e.link).group(1) for e in feed.entries]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_site_feed_items_newest_first(client, good_posts, fmt):
    response, feed = parse(client, f"/feed.{fmt}")
    assert response.content_type == f"application/{fmt}+xml; charset=utf-8"
    assert share_ids(feed) == NEWEST_FIRST
    assert feed.feed.title == "Harbour Gazette"
    assert feed.feed.language == "zh-CN"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_item_fields(client, good_posts, fmt):
    _, feed = parse(client, f"/feed.{fmt}")
    entry = next(e for e in feed.entries if e.link.endswith("/NW202601112030000002.html"))
    assert entry.title == "Night market reopens"
    assert entry.link == "https://news.example/share/NW202601112030000002.html"
    assert entry.author == "Desk reporter"
    assert entry.summary.startswith("The night market on the old quay reopened")
    assert "forty stalls" in entry.content[0].value
    # Site-relative URLs are absolute in output.
    assert 'src="https://news.example/uploads/2026/01/night-market.jpg"' in entry.content[0].value
    assert 'href="https://news.example/category/culture.html"' in entry.content[0].value
    # Categories by display name (RSS has room only for that; Atom also keeps the slug as term).
    shown = {t.get("label") or t.term for t in entry.tags}
    assert shown == {"港口新闻", "culture", "markets", "夜市", "community"}
    # Published with the offset it was written in; updated present too.
    assert entry.published.endswith(("+0800", "+08:00"))
    assert entry.updated_parsed is not None


def test_rss_source_and_atom_via_link(client, good_posts):
    _, rss = parse(client, "/feed.rss")
    item = next(e for e in rss.entries if e.link.endswith("/NW202601100900000001.html"))
    assert item.source.title == "港口晚报"
    assert item.source.href.endswith("infoCode=NW202601100900000001")
    _, atom = parse(client, "/feed.atom")
    entry = next(e for e in atom.entries if e.link.endswith("/NW202601100900000001.html"))
    via = [link for link in entry.links if link.rel == "via"]
    assert via and via[0].href.endswith("infoCode=NW202601100900000001") and via[0].title == "港口晚报"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feed_level_metadata(client, good_posts, fmt):
    response, feed = parse(client, f"/category/harbour.{fmt}")
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == f"https://news.example/category/harbour.{fmt}"
    assert links["alternate"] == "https://news.example/category/harbour.html"
    assert feed.feed.title == "港口新闻 · Harbour Gazette"
    # Last update = newest item; also what Last-Modified says.
    assert feed.feed.updated_parsed[:6] == (2026, 1, 14, 0, 0, 0)
    assert response.headers["Last-Modified"] == "Wed, 14 Jan 2026 00:00:00 GMT"


def test_rss_ttl_matches_cache_max_age(database_url):
    app = make_app(database_url, SYNDICATION_CACHE_MAX_AGE=900)
    fresh_schema(app)
    import_paths(app, FIXTURES / "good")
    response = app.test_client().get("/feed.rss")
    assert b"<ttl>15</ttl>" in response.data
    assert response.headers["Cache-Control"] == "public, max-age=900, stale-while-revalidate=900, stale-if-error=86400"


def test_guids_are_stable_across_edits_reimport_and_a_new_site_address(database_url, tmp_path):
    post = tmp_path / "2026-01-10-offset-html.md"
    post.write_text((FIXTURES / "good" / "2026-01-10-offset-html.md").read_text())
    app = make_app(database_url)
    fresh_schema(app)
    import_paths(app, post)
    ids = {}
    for fmt in ("rss", "atom"):
        ids[fmt] = parse(app.test_client(), f"/feed.{fmt}")[1].entries[0].id

    post.write_text(post.read_text().replace("Harbour ferry timetable changes", "Ferry timetable: new times"))
    import_paths(app, post)
    moved = make_app(database_url, SYNDICATION_SITE_URL="https://moved.example")
    for fmt in ("rss", "atom"):
        entry = parse(moved.test_client(), f"/feed.{fmt}")[1].entries[0]
        assert entry.title == "Ferry timetable: new times"
        assert entry.link.startswith("https://moved.example/")
        assert entry.id == ids[fmt]
    assert ids["rss"] == ids["atom"] and ids["rss"].startswith("urn:uuid:")


def test_rss_guid_is_not_a_permalink(client, good_posts):
    data = client.get("/feed.rss").data
    assert data.count(b'<guid isPermaLink="false">urn:uuid:') == 5


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_no_script_reaches_a_feed(client, good_posts, fmt):
    data = client.get(f"/feed.{fmt}").data.decode()
    # Content is escaped XML text: look at it both raw and unescaped.
    from html import unescape

    for text in (data, unescape(data)):
        for bad in ("<script", "onclick", "onerror", "javascript:", "data:text", "<iframe", "display:none"):
            assert bad not in text.lower(), bad


@pytest.mark.parametrize("path", FEEDS)
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_every_feed_parses(client, good_posts, path, fmt):
    _, feed = parse(client, path.format(fmt))
    assert feed.entries
    assert feed.version == ("rss20" if fmt == "rss" else "atom10")


def test_category_and_tag_feeds_hold_only_their_articles(client, good_posts):
    _, harbour = parse(client, "/category/harbour.rss")
    assert share_ids(harbour) == [
        "harbour-dredging-2026",
        "2026-01-13-hostile",
        "NW202601112030000002",
        "NW202601100900000001",
    ]
    _, ferries = parse(client, "/tag/ferries.atom")
    assert share_ids(ferries) == ["harbour-dredging-2026", "NW202601100900000001"]
    _, night = parse(client, "/tag/%E5%A4%9C%E5%B8%82.rss")
    assert share_ids(night) == ["NW202601112030000002"]
    assert night.feed.title.startswith("#夜市")


@pytest.mark.parametrize("limit", ["1", "2", "5", "100"])
def test_limit(client, good_posts, limit):
    _, feed = parse(client, f"/feed.rss?limit={limit}")
    assert share_ids(feed) == NEWEST_FIRST[: int(limit)]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "９"])
def test_bad_limit_is_400_with_a_reason(client, good_posts, limit):
    response = client.get(f"/feed.atom?limit={limit}")
    assert response.status_code == 400
    assert b"limit must be a whole number from 1 to 100" in response.data
    assert response.content_type.startswith("text/plain")
    assert b"Traceback" not in response.data


def test_repeated_limit_is_400(client, good_posts):
    assert client.get("/feed.rss?limit=1&limit=2").status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/category/nowhere.rss", "/category/nowhere.atom", "/tag/nothing.rss", "/tag/%E6%97%A0.atom", "/feed.json5"],
)
def test_unknown_feeds_are_404(client, good_posts, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"Traceback" not in response.data


def test_default_limit_is_20(client, tmp_path, app):
    for i in range(25):
        (tmp_path / f"2026-02-{i + 1:02d}-p{i}.md").write_text(f"---\ntitle: Post {i}\n---\nBody {i}.\n")
    import_paths(app, tmp_path)
    _, feed = parse(client, "/feed.rss")
    assert len(feed.entries) == 20
    assert feed.entries[0].title == "Post 24"


def test_empty_site_still_serves_valid_feeds(client):
    for fmt in ("rss", "atom"):
        _, feed = parse(client, f"/feed.{fmt}")
        assert feed.entries == []


def test_forbidden_xml_characters_never_reach_output(client, app, tmp_path):
    (tmp_path / "p.md").write_bytes(
        b'---\ntitle: "Bell\\x07 and \\x1b escape"\ndate: 2026-02-01\n---\nText\x0b with\x01 controls.\n'
    )
    import_paths(app, tmp_path)
    for fmt in ("rss", "atom"):
        data = client.get(f"/feed.{fmt}").data
        etree.fromstring(data)  # a strict XML parser accepts it
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", data)


# -- conformance -----------------------------------------------------------------------------------


def atom_schema():
    path = SHARED / "schemas" / "atom.rng"
    if not path.exists():
        pytest.skip(f"RFC 4287 RELAX NG schema not found at {path} (set SYNDICATION_SHARED_DIR)")
    return etree.RelaxNG(etree.parse(str(path)))


@pytest.mark.parametrize("path", FEEDS)
def test_atom_is_valid_against_rfc4287_relax_ng(client, good_posts, path):
    schema = atom_schema()
    doc = etree.fromstring(client.get(path.format("atom")).data)
    assert schema.validate(doc), schema.error_log
    # §4.1.1: a feed without entries' own authors must have one; §4.1.2: each entry has an alternate link.
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert doc.find("a:author/a:name", ns) is not None
    for entry in doc.findall("a:entry", ns):
        alternates = [link for link in entry.findall("a:link", ns) if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1


def test_empty_atom_feed_is_valid(client):
    schema = atom_schema()
    assert schema.validate(etree.fromstring(client.get("/feed.atom").data)), schema.error_log


@pytest.mark.parametrize("path", FEEDS)
def test_rss_has_the_elements_rss_2_requires(client, good_posts, path):
    """RSS 2.0 spec: channel title, link, description; each item a title or description; RSS Advisory
    Board practice: an atom:link rel=self, guids, RFC 822 dates."""
    doc = etree.fromstring(client.get(path.format("rss")).data)
    assert doc.tag == "rss" and doc.get("version") == "2.0"
    channel = doc.find("channel")
    for required in ("title", "link", "description"):
        assert (channel.findtext(required) or "").strip(), required
    atom_self = channel.find("{http://www.w3.org/2005/Atom}link[@rel='self']")
    assert atom_self is not None and atom_self.get("type") == "application/rss+xml"
    rfc822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
    assert rfc822.match(channel.findtext("lastBuildDate"))
    for item in channel.findall("item"):
        assert item.findtext("title") or item.findtext("description")
        assert rfc822.match(item.findtext("pubDate"))
        assert item.findtext("guid")
        assert item.find("{http://purl.org/rss/1.0/modules/content/}encoded") is not None
    # Elements appear once where the spec allows one.
    for single in ("title", "link", "description", "language", "ttl", "lastBuildDate"):
        assert len(channel.findall(single)) == 1, single


def test_dates_carry_the_site_offset(client, good_posts):
    _, feed = parse(client, "/feed.atom")
    hostile = next(e for e in feed.entries if e.link.endswith("/2026-01-13-hostile.html"))
    # Written at 12:00 +0000; shown in the site's zone with its offset.
    assert hostile.published == "2026-01-13T20:00:00+08:00"
    assert hostile.published_parsed.tm_hour == 12  # feedparser normalises to UTC


@pytest.mark.parametrize("path", ["/tag/%00.rss", "/category/%00.atom", "/tag/a%0Ab.rss", "/category/%C3%28.rss"])
def test_names_that_cannot_exist_are_404_without_asking_the_database(client, good_posts, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"Traceback" not in response.data
